"""``transformer-explorer bench forward``: forward and forward+record latency, and memory.

For the default small decoder (d_e 64, 4 heads, 2 layers, l_max 64) and a GPT-2-small-
sized one (12 layers, 12 heads, d_e 768, N_V 50257, 124M parameters) at l = 64 and 256
(``--configs`` adds a Llama-style one of SmolLM-135M's shape: 30 layers, 9 query and 3
key/value heads, d_e 576, SwiGLU d_mlp 1536, rotary positions, N_V 49152),
and for ``--model FOLDER`` (load time too): a plain forward pass, ``explorer.trace.record``
(every step kept) and the lean trace the window keeps (``record(..., lean=True)``: the
same steps, with scores, masked scores, MLP activations and output probabilities
recomputed when a view asks), run in ``--repeats`` interleaved rounds (each side once
per round, order alternating, so machine noise hits all alike): the median and the
minimum per side, how busy the rest of the machine was in each round (/proc/stat) and
how many rounds were contended; and the size of each trace. Batch size 1, as the
window runs.

Memory: on CPU, ``resource.getrusage`` max RSS (the process's high-water mark; the
growth during each measurement is reported, 0 when an earlier peak was higher);
on CUDA, ``torch.cuda.max_memory_allocated`` during the measurement.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

import torch

from explorer.bench.rounds import interleaved
from explorer.core import ModelConfig, TransformerModel, build_model
from explorer.io import open_model
from explorer.trace import record
from explorer.trace.record import DERIVABLE, derivable
from explorer.train.devices import describe_device, resolve_device

SMALL = ModelConfig(arch="decoder", vocab_size=256, l_max=64, d_e=64, n_heads=4, n_layers=2)
GPT2_SMALL = ModelConfig(arch="decoder", vocab_size=50257, l_max=1024, d_e=768, n_heads=12,
                         n_layers=12, activation="gelu_tanh", tie_unembedding=True)
# Llama-style (extensions: rotary, SwiGLU, grouped-query) in SmolLM-135M's shape.
SMOLLM_135M = ModelConfig(arch="decoder", vocab_size=49152, l_max=2048, d_e=576, n_heads=9,
                          n_kv_heads=3, n_layers=30, d_mlp=1536, norm="rms", norm_eps=1e-5,
                          norm_placement="pre", positions="rotary", activation="swiglu",
                          bias=False, tie_unembedding=True)
CONFIGS = {"small": SMALL, "gpt2-small-sized": GPT2_SMALL, "smollm-135m-shaped": SMOLLM_135M}
MB = 2**20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", metavar="FOLDER", help="also time loading and running "
                        "this folder (ours or Hugging Face)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto (default cpu)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per measurement")
    parser.add_argument("--lengths", default="64,256", help="sequence lengths (default 64,256)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    parser.add_argument("--configs", default="small,gpt2-small-sized",
                        help=f"random-weight models to time, of {', '.join(CONFIGS)} "
                        "(default small,gpt2-small-sized)")
    parser.add_argument("--quick", action="store_true", help="small model only, l=16, 2 runs "
                        "(for tests)")


try:
    import resource
except ImportError:  # Windows: no getrusage
    resource = None


def _max_rss_mb() -> float:
    """The process's peak resident memory so far (0 where getrusage does not exist)."""
    if resource is None:
        return 0.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / MB  # KB on Linux, B on macOS


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _rounds_ms(sides: dict, repeats: int, device: torch.device) -> dict[str, Any]:
    """Interleaved rounds of every side: median and min ms per side, and busyness."""
    rows = interleaved(sides, repeats, sync=lambda: _sync(device))
    out: dict[str, Any] = {}
    for name in sides:
        values = [r["seconds"][name] * 1000 for r in rows]
        out[name] = (round(statistics.median(values), 3), round(min(values), 3))
    out["rounds"] = [{"others_busy": r["others"], "contended": r["contended"],
                      **{f"{k}_ms": round(v * 1000, 3) for k, v in r["seconds"].items()}}
                     for r in rows]
    return out


def _inputs(model: TransformerModel, length: int, device: torch.device) -> tuple:
    g = torch.Generator().manual_seed(length)
    x = torch.randint(0, model.cfg.vocab_size, (1, length), generator=g).to(device)
    return (x, x) if model.cfg.arch == "encoder-decoder" else (x,)


def _measure(model: TransformerModel, length: int, repeats: int,
             device: torch.device) -> dict[str, Any]:
    inputs = _inputs(model, length, device)
    rss_before = _max_rss_mb()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    def forward() -> None:
        with torch.no_grad():
            model(*inputs)

    timed = _rounds_ms({"forward": forward, "record": lambda: record(model, *inputs),
                        "lean_record": lambda: record(model, *inputs, lean=True)},
                       repeats, device)
    (forward_ms, forward_min), (record_ms, record_min) = timed["forward"], timed["record"]
    lean_ms, lean_min = timed["lean_record"]
    _, trace = record(model, *inputs)
    _, lean_trace = record(model, *inputs, lean=True)
    row = {
        "l": length,
        "forward_ms": forward_ms,
        "forward_min_ms": forward_min,
        "record_ms": record_ms,
        "record_min_ms": record_min,
        "record_over_forward": round(record_ms / max(forward_ms, 1e-9), 2),
        "trace_steps": len(trace),
        "trace_mb": round(trace.nbytes() / MB, 1),
        "lean_record_ms": lean_ms,
        "lean_record_min_ms": lean_min,
        "contended_rounds": sum(1 for r in timed["rounds"] if r["contended"]),
        "rounds": timed["rounds"],
        "lean_trace_stored_steps": sum(1 for n in lean_trace if not derivable(n)),
        "lean_trace_mb": round(lean_trace.nbytes() / MB, 1),
        "max_rss_mb": round(_max_rss_mb(), 1),
        "rss_growth_mb": round(_max_rss_mb() - rss_before, 1),
    }
    if device.type == "cuda":
        row["cuda_peak_mb"] = round(torch.cuda.max_memory_allocated(device) / MB, 1)
    return row


def _bench_model(name: str, model: TransformerModel, lengths: list[int], repeats: int,
                 device: torch.device, extra: dict[str, Any]) -> dict[str, Any]:
    cfg = model.cfg
    usable = [length for length in lengths if length <= cfg.l_max]
    result = {
        "name": name, **extra, "arch": cfg.arch, "algorithm": cfg.algorithm_name,
        "parameters": model.num_parameters(), "vocab_size": cfg.vocab_size, "d_e": cfg.d_e,
        "n_heads": cfg.n_heads, "n_kv_heads": cfg.n_kv_heads, "n_layers": cfg.n_layers,
        "l_max": cfg.l_max, "extensions": cfg.extensions,
        "runs": [_measure(model, length, repeats, device) for length in usable],
    }
    skipped = sorted(set(lengths) - set(usable))
    if skipped:
        result["skipped_lengths"] = {"lengths": skipped, "why": f"longer than l_max={cfg.l_max}"}
    return result


def _built(cfg: ModelConfig, device: torch.device) -> tuple[TransformerModel, float]:
    torch.manual_seed(0)
    start = time.perf_counter()
    model = build_model(cfg).to(device).eval()
    return model, round(time.perf_counter() - start, 3)


def run(args: argparse.Namespace) -> dict[str, Any]:
    device = resolve_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    repeats = 2 if args.quick else max(1, args.repeats)
    lengths = [16] if args.quick else sorted({int(v) for v in args.lengths.split(",") if v})
    names = [n.strip() for n in getattr(args, "configs", "small,gpt2-small-sized").split(",")]
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        raise ValueError(f"unknown --configs {unknown[0]!r}; choose from {', '.join(CONFIGS)}")
    configs = [("small", SMALL)] if args.quick else [(n, CONFIGS[n]) for n in names if n]
    results = []
    for name, cfg in configs:
        model, build_s = _built(cfg, device)
        results.append(_bench_model(name, model, lengths, repeats, device, {"build_s": build_s}))
        del model
    out: dict[str, Any] = {
        "benchmark": "forward",
        "device": describe_device(device),
        "torch_threads": torch.get_num_threads(),
        "batch": 1,
        "repeats": repeats,
        "timing": "interleaved rounds (forward, record, lean record once each per round, "
                  "order alternating, one warm-up round): *_ms the median, *_min_ms the "
                  "minimum; each round with the share of the machine busy with other "
                  "processes (/proc/stat), contended above 0.25",
        "memory": ("CUDA: torch.cuda.max_memory_allocated per measurement; " if
                   device.type == "cuda" else "") + "max RSS (getrusage high-water mark) "
                  "after each measurement and its growth during it; trace_mb = "
                  "Trace.nbytes() of one recording (kept on the CPU)",
        "lean_trace_recomputes": list(DERIVABLE),
        "results": results,
    }
    if args.model:
        start = time.perf_counter()
        model, _, info = open_model(args.model, device=device)
        load_s = round(time.perf_counter() - start, 3)
        extra = {"folder": info["folder"], "family": info["family"], "load_s": load_s}
        out["model"] = _bench_model(info["name"], model, lengths, repeats, device, extra)
    return out
