"""``transformer-explorer bench train``: our training step against a bare PyTorch loop.

Per model size (``--sizes``: ``small``, a pre-norm decoder with 4 layers, 4 heads, d_e
128, l_max 64, batch 32; ``10m``, ~10M parameters: 6 layers, 6 heads, d_e 384, l_max
128) both train the same model on the same token stream in one process, in interleaved
rounds (``explorer.bench.rounds``), so machine noise hits both alike. Ours runs at
``--precision`` (default auto: what ``transformer-explorer train`` picks); the reference
is written here with nothing but an embedding, ``scaled_dot_product_attention``, layer
norms, an MLP and AdamW, in fp32. The headline ``ratio`` is the median over rounds of
our tokens/s ÷ the reference's; each round's ratio is printed with how busy the rest of
the machine was (from /proc/stat), contended rounds marked. Then the Train panel trains
offscreen while a 1 ms timer measures the GUI thread's largest gap between event-loop
ticks (target < 100 ms). With ``--nproc N``: one process against N ranks instead
(``explorer.bench.train_ranks``).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from explorer.bench.rounds import interleaved, summary
from explorer.bench.train_sizes import SIZES, corpus
from explorer.train import TrainConfig, new_trainer
from explorer.train.devices import (
    PRECISIONS,
    bf16_supported,
    describe_device,
    precision_label,
    resolve_device,
)
from explorer.train.sources import DataSource


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto (default cpu)")
    parser.add_argument("--sizes", default="small,10m",
                        help=f"model sizes, comma-separated ({', '.join(SIZES)})")
    parser.add_argument("--precision", default="auto", choices=PRECISIONS,
                        help="our side's precision (the reference is fp32; default auto)")
    parser.add_argument("--steps", type=int, default=20,
                        help="steps per round and side, small model (20)")
    parser.add_argument("--big-steps", type=int, default=3,
                        help="steps per round and side, 10m model (3)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--batch-size", type=int, default=32, help="batch, small model")
    parser.add_argument("--big-batch-size", type=int, default=8, help="batch, 10m model")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--gui-seconds", type=float, default=4.0,
                        help="how long to measure the GUI thread (0: skip)")
    parser.add_argument("--nproc", type=int, default=None,
                        help="instead: the first --sizes model and the global --batch-size "
                        "in 1 process and in N ranks (DDP, torch.distributed.run): tokens/s "
                        "of each and the scaling efficiency (--threads T: T threads for "
                        "the one process, T ÷ N per rank; default: cores, cores ÷ N)")


class _Block(nn.Module):
    def __init__(self, d: int, h: int) -> None:
        super().__init__()
        self.h = h
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.o = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.up, self.down = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, l, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(B, l, 3, self.h, d // self.h).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.o(y.transpose(1, 2).reshape(B, l, d))
        return x + self.down(F.gelu(self.up(self.ln2(x))))


class ReferenceDecoder(nn.Module):
    """The bare PyTorch reference: the same decoder, nothing but the essentials."""

    def __init__(self, vocab: int, l_max: int, d: int, h: int, n_layers: int) -> None:
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, d), nn.Embedding(l_max, d)
        self.blocks = nn.ModuleList(_Block(d, h) for _ in range(n_layers))
        self.ln, self.out = nn.LayerNorm(d), nn.Linear(d, vocab, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.tok(x) + self.pos(torch.arange(x.shape[1], device=x.device))
        for block in self.blocks:
            h = block(h)
        return self.out(self.ln(h))


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def compare_steps(args: argparse.Namespace, size: str = "small") -> dict[str, Any]:
    """Interleaved rounds of our loop and the reference loop on model ``size``."""
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}: use {', '.join(SIZES)}")
    n_layers, n_heads, d_e, l_max = SIZES[size]
    big = size != "small"
    steps = args.big_steps if big else args.steps
    batch = args.big_batch_size if big else args.batch_size
    device = resolve_device(args.device)
    config = TrainConfig(task="next-token", steps=10**9, batch_size=batch, lr=1e-3,
                         val_every=0, log_every=1, device=str(device),
                         precision=getattr(args, "precision", "auto"))
    source = DataSource("next-token", "bench corpus", text=corpus())
    ours = new_trainer(source, config, "char", l_max=l_max, d_e=d_e, n_heads=n_heads,
                       n_layers=n_layers)
    cfg = ours.model.cfg
    stream = ours.data.train_ids.long()  # (held as int32)
    torch.manual_seed(0)
    ref = ReferenceDecoder(cfg.vocab_size, l_max, d_e, n_heads, n_layers).to(device)
    opt = torch.optim.AdamW(ref.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(1)
    offsets = torch.arange(l_max)

    def ref_steps() -> None:
        for _ in range(steps):
            starts = torch.randint(0, stream.numel() - l_max, (batch,), generator=gen)
            x = stream[starts[:, None] + offsets].to(device)
            logits = ref(x)
            loss = F.cross_entropy(logits[:, :-1].reshape(-1, cfg.vocab_size),
                                   x[:, 1:].reshape(-1))
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)

    it = ours.steps()

    def our_steps() -> None:
        for _ in range(steps):
            next(it)

    rows = interleaved({"ours": our_steps, "reference": ref_steps}, args.rounds,
                       sync=lambda: _sync(device))
    result = summary(rows, "reference", "ours")  # = our tokens/s ÷ the reference's
    tokens = steps * batch * l_max
    median_s = {side: sorted(r["seconds"][side] for r in rows)[len(rows) // 2]
                for side in ("ours", "reference")}
    totals = {side: sum(r["seconds"][side] for r in rows) for side in ("ours", "reference")}
    return {
        "size": size,
        "model": {"layers": n_layers, "heads": n_heads, "d_e": d_e, "l_max": l_max,
                  "vocab": cfg.vocab_size, "batch": batch,
                  "parameters": ours.model.num_parameters(),
                  "reference_parameters": sum(p.numel() for p in ref.parameters())},
        "precision": ours.precision,
        "precision_label": precision_label(ours.precision, device, config.tf32),
        "precision_note": ours.precision_note,
        "reference_precision": "fp32",
        "steps_per_round_and_side": steps,
        "ours_tokens_per_s": round(tokens / median_s["ours"], 1),
        "reference_tokens_per_s": round(tokens / median_s["reference"], 1),
        "ratio": result["median_round_ratio"],
        "ratio_uncontended_rounds": result["median_uncontended_round_ratio"],
        "ratio_of_total_times": round(totals["reference"] / totals["ours"], 3),
        "contended_rounds": result["contended_rounds"],
        "rounds": result["rounds"],
    }


def measure_gui_gap(seconds: float, device: str = "cpu") -> dict[str, Any]:
    """Train in the Train panel (offscreen) and time the GUI thread's event-loop ticks."""
    import os
    import tempfile
    from pathlib import Path

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from explorer.ui.train.panel import MODEL_SIZES, TrainPanel

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        corpus_file = Path(tmp) / "corpus.txt"
        corpus_file.write_text(corpus(), encoding="utf-8")
        panel = TrainPanel(runs_dir=Path(tmp) / "runs", snapshot_interval_s=1.0)
        panel.resize(1400, 900)
        panel.show()
        panel.open_data_file(corpus_file)
        panel.form.size_box.setCurrentText(next(k for k in MODEL_SIZES if "medium" in k))
        panel.form.batch_spin.setValue(32)
        panel.form.steps_spin.setValue(10**6)
        panel.form.device_box.setCurrentText(device if device != "auto" else "auto")
        ticks: list[float] = []
        snapshots: list[object] = []
        panel.weights_updated.connect(snapshots.append)
        timer = QTimer()
        timer.setInterval(1)
        timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
        loop = QEventLoop()
        panel.start()
        deadline = time.perf_counter() + 60
        while panel.trainer is None and time.perf_counter() < deadline and panel.is_training():
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        start_step = panel.trainer.step if panel.trainer else 0
        timer.start()
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()
        timer.stop()
        steps = (panel.trainer.step if panel.trainer else 0) - start_step
        panel.stop()
        panel.wait(10_000)
        app.processEvents()
        panel.close()
    gaps = [b - a for a, b in zip(ticks, ticks[1:])] or [float("nan")]
    gaps_sorted = sorted(gaps)
    return {
        "seconds": seconds,
        "training_steps_meanwhile": steps,
        "snapshots_meanwhile": len(snapshots),
        "ticks": len(ticks),
        "max_gap_ms": round(1000 * max(gaps), 2),
        "p99_gap_ms": round(1000 * gaps_sorted[int(0.99 * (len(gaps) - 1))], 2),
        "mean_gap_ms": round(1000 * sum(gaps) / len(gaps), 3),
        "target_max_gap_ms": 100,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    if getattr(args, "nproc", None) is not None:
        from explorer.bench import train_ranks

        return train_ranks.run(args)
    if getattr(args, "threads", None):
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown or not sizes:
        raise ValueError(f"unknown size(s) {', '.join(unknown) or '(none)'}: "
                         f"use {', '.join(SIZES)}")
    models = [compare_steps(args, size) for size in sizes]
    result: dict[str, Any] = {
        "benchmark": "train",
        "device": describe_device(device),
        "torch_threads": torch.get_num_threads(),
        "bf16_native": bf16_supported(device),
        "headline": "median over interleaved rounds of our tokens/s ÷ the fp32 reference's",
        "ratio": {m["size"]: m["ratio"] for m in models},
        "precision": {m["size"]: m["precision"] for m in models},
        "models": models,
        "targets": {"small": "ratio >= 0.9, never slower than fp32",
                    "10m": "ratio >= 1.5 with bf16 where the CPU has it"},
    }
    if args.gui_seconds > 0:
        result["gui"] = measure_gui_gap(args.gui_seconds, args.device)
    return result
