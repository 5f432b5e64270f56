"""``transformer-explorer bench analysis``: the analyses' cost in plain forward passes.

For the bundled default decoder and a GPT-2-small-sized random decoder (12 layers, 12
heads, d_e 768, N_V 50257) at l = 64 and 256 (lengths above a model's ℓ_max are
skipped): one plain forward pass, recording the trace the window keeps, the logit lens
over every residual point given that trace (``lens``) and from the ids alone
(``lens_from_ids``, which records what it reads), direct logit attribution at the last
position, and the per-token loss. Interleaved in rounds (the order rotates each round,
round 0 only warms up), each analysis's time is divided by the same round's forward
pass; the median round's ratio is reported with the machine's load. Target: lens ≤ 1.5
forward passes. Batch size 1, as the window runs.

``patching`` (``explorer.bench.patching``): the residual-stream activation-patching sweep
on the GPT-2-small-sized model at 16 tokens (the small random decoder with ``--quick``),
batched against one run at a time. ``--what`` picks the analyses, the patching or both.

``lens_bf16`` is the lens with its unembedding matmul in bfloat16
(``logit_lens(..., readout_dtype="bfloat16")``). ``lens_unembed_flops_over_forward_flops``
is the floor no implementation of the exact lens can beat at equal FLOP rate: reading out
P − 1 points costs P − 1 unembeddings (the last point is the model's own output), which for
a large vocabulary is several forward passes' worth of arithmetic.

``unembed_bound`` times the lens's arithmetic alone: points × positions × d_e × N_V
multiply-adds as one (P·l × d_e) @ (d_e × N_V) matmul into a preallocated output, in the
same rounds; ``lens_over_unembed_bound`` is the median over rounds of the lens's time
over it (target ≤ 1.1).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time
from importlib.resources import files
from pathlib import Path
from typing import Any

import torch

from explorer.analysis import direct_logit_attribution, logit_lens, residual_points, token_loss
from explorer.bench.circuit import measure_circuit
from explorer.bench.forward import GPT2_SMALL, SMALL
from explorer.bench.patching import measure_patching
from explorer.core import build_model
from explorer.io import open_model
from explorer.trace import record
from explorer.train.devices import describe_device, resolve_device

LENS_TARGET = 1.5
BOUND_TARGET = 1.1  # the full lens over the unembedding bound
MODELS = ("default-decoder", "gpt2-small-sized")
WHAT = ("all", "analyses", "patching", "circuit")
PATCHING_LENGTH = 16
_MIN_MEASURE_S = 0.02  # a measurement repeats a fast call until it lasts about this long


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto (default cpu)")
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds (default 5)")
    parser.add_argument("--lengths", default="64,256", help="sequence lengths (default 64,256)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    parser.add_argument("--models", default=",".join(MODELS), help="which of "
                        f"{', '.join(MODELS)} (default all)")
    parser.add_argument("--quick", action="store_true", help="a small random decoder only, "
                        "l=16, 2 rounds (for tests)")
    parser.add_argument("--what", choices=WHAT, default="all", help="the analyses (lens, "
                        "DLA, loss), the activation-patching sweep, circuit discovery "
                        "(explorer.bench.circuit), or all (default)")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn, repeats: int, device: torch.device) -> float:
    _sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    _sync(device)
    return (time.perf_counter() - start) / repeats


def _machine() -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    cpus = os.cpu_count() or 1
    return {"load_average_1min": round(load[0], 2), "cpus": cpus,
            "busy_fraction": round(min(1.0, load[0] / cpus), 2)}


def _measure(model, length: int, rounds: int, device: torch.device) -> dict[str, Any]:
    g = torch.Generator().manual_seed(length)
    x = torch.randint(0, model.cfg.vocab_size, (1, length), generator=g).to(device)
    _, trace = record(model, x)
    position = length - 1
    target = int(trace["logits"][0, position].argmax())

    def forward() -> None:
        with torch.no_grad():
            model(x)

    # the unembedding bound: points × positions × d_e × N_V multiply-adds as one matmul
    points = len(residual_points(model))
    W_u = model.unembed.W_u.weight.detach()
    h = torch.randn(points * length, model.cfg.d_e, generator=g).to(device)
    out = torch.empty(points * length, model.cfg.vocab_size, device=device)

    def unembed_bound() -> None:
        torch.mm(h, W_u.t(), out=out)

    calls = {
        "forward": forward,
        "unembed_bound": unembed_bound,
        "record": lambda: record(model, x),
        "lens": lambda: logit_lens(model, x, trace=trace),
        "lens_bf16": lambda: logit_lens(model, x, trace=trace, readout_dtype="bfloat16"),
        "lens_from_ids": lambda: logit_lens(model, x),
        "dla": lambda: direct_logit_attribution(model, x, position, target, trace=trace),
        "loss": lambda: token_loss(model, x, trace=trace),
    }
    names = list(calls)
    repeats = {}
    for name, fn in calls.items():  # warm-up, and how often a fast call repeats
        once = _timed(fn, 1, device)
        repeats[name] = max(1, math.ceil(_MIN_MEASURE_S / max(once, 1e-6)))
    per_round: list[dict[str, float]] = []
    for rnd in range(rounds + 1):
        shift = rnd % len(names)
        order = names[shift:] + names[:shift]
        times = {name: _timed(calls[name], repeats[name], device) for name in order}
        if rnd:
            per_round.append(times)
    ratios = {name: [r[name] / r["forward"] for r in per_round] for name in names[1:]}
    row: dict[str, Any] = {"l": length,
                           "forward_ms": round(1000 * statistics.median(
                               r["forward"] for r in per_round), 3)}
    for name in names[1:]:
        row[f"{name}_ms"] = round(1000 * statistics.median(r[name] for r in per_round), 3)
        row[f"{name}_over_forward"] = round(statistics.median(ratios[name]), 3)
        row[f"{name}_round_ratios"] = [round(v, 3) for v in ratios[name]]
    row["lens_points"] = points
    row["lens_over_unembed_bound"] = round(statistics.median(
        r["lens"] / r["unembed_bound"] for r in per_round), 3)
    row["lens_bf16_over_unembed_bound"] = round(statistics.median(
        r["lens_bf16"] / r["unembed_bound"] for r in per_round), 3)
    row["lens_meets_bound_target"] = row["lens_over_unembed_bound"] <= BOUND_TARGET
    row["lens_meets_target"] = row["lens_over_forward"] <= LENS_TARGET
    row["lens_bf16_meets_target"] = row["lens_bf16_over_forward"] <= LENS_TARGET
    row["lens_unembed_flops_over_forward_flops"] = round(
        (points - 1) * _unembed_flops(model.cfg, length) / _forward_flops(model.cfg, length), 2)
    return row


def _unembed_flops(cfg, length: int) -> float:
    return 2.0 * length * cfg.d_e * cfg.vocab_size


def _forward_flops(cfg, length: int) -> float:
    """Multiply-adds ×2 of one forward pass: the layers' matmuls, attention, unembedding."""
    d, layers = cfg.d_e, cfg.n_layers
    attn = 4 * d * cfg.n_heads * cfg.d_attn + 2 * length * cfg.n_heads * cfg.d_attn
    per_token = layers * (attn + 2 * d * cfg.d_mlp)
    return 2.0 * length * per_token + _unembed_flops(cfg, length)


def _default_decoder(device: torch.device):
    folder = Path(str(files("explorer.resources") / "models" / "default-decoder"))
    model, _, _ = open_model(folder, device=device)
    return model.eval()


def run(args: argparse.Namespace) -> dict[str, Any]:
    device = resolve_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    rounds = 2 if args.quick else max(1, args.rounds)
    lengths = [16] if args.quick else sorted({int(v) for v in args.lengths.split(",") if v})
    if not lengths or min(lengths) < 2:
        raise ValueError("--lengths needs lengths of at least 2 tokens, e.g. 64,256")
    if args.quick:
        torch.manual_seed(0)
        models = [("small-random", lambda: build_model(SMALL).to(device).eval())]
    else:
        def gpt2():
            torch.manual_seed(0)
            return build_model(GPT2_SMALL).to(device).eval()

        makers = {"default-decoder": lambda: _default_decoder(device),
                  "gpt2-small-sized": gpt2}
        wanted = [m.strip() for m in args.models.split(",") if m.strip()]
        unknown = [m for m in wanted if m not in makers]
        if unknown or not wanted:
            raise ValueError(f"--models takes {', '.join(MODELS)}, not {args.models!r}")
        models = [(name, makers[name]) for name in wanted]
    machine_before = _machine()
    results = []
    circuit = None
    if args.what in ("all", "circuit"):
        circuit = [{"name": name, **measure_circuit(make(), PATCHING_LENGTH, rounds, device)}
                   for name, make in models]
    if args.what in ("patching", "circuit"):
        models = []
    for name, make in models:
        model = make()
        cfg = model.cfg
        usable = [n for n in lengths if n <= cfg.l_max]
        entry: dict[str, Any] = {
            "name": name, "parameters": model.num_parameters(), "vocab_size": cfg.vocab_size,
            "d_e": cfg.d_e, "n_layers": cfg.n_layers, "n_heads": cfg.n_heads,
            "l_max": cfg.l_max, "runs": [_measure(model, n, rounds, device) for n in usable]}
        skipped = sorted(set(lengths) - set(usable))
        if skipped:
            entry["skipped_lengths"] = {"lengths": skipped, "why": f"longer than l_max="
                                        f"{cfg.l_max}"}
        results.append(entry)
        del model
    patching = None
    if args.what in ("all", "patching"):
        torch.manual_seed(0)
        model = build_model(SMALL if args.quick else GPT2_SMALL).to(device).eval()
        patching = {"model": "small-random" if args.quick else "gpt2-small-sized",
                    "parameters": model.num_parameters(),
                    **measure_patching(model, PATCHING_LENGTH, rounds, device)}
        del model
    return {
        "benchmark": "analysis",
        "device": describe_device(device),
        "torch_threads": torch.get_num_threads(),
        "batch": 1,
        "rounds": rounds,
        "method": "interleaved rounds (order rotates; round 0 warms up); each time is the "
                  "mean of enough calls to last ≥ 20 ms; *_over_forward = the median over "
                  "rounds of (analysis time / the same round's forward pass)",
        "lens_target_over_forward": LENS_TARGET,
        "lens_target_over_unembed_bound": BOUND_TARGET,
        "machine_before": machine_before,
        "machine_after": _machine(),
        "results": results,
        "patching": patching,
        "circuit": circuit,
    }
