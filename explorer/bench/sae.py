"""``transformer-explorer bench sae``: training an SAE on the bundled decoder.

The issue's setting by default: the residual stream after layer 2 (``blocks.1.resid_mlp``),
8× expansion, TopK k = 16, the ``sae train`` defaults. Prints the throughput in activation
vectors per second (the model streaming them and the SAE's steps together, and the
streaming alone), the resident memory after the first steps and at the end (streaming keeps
it flat: one batch of windows at a time) and the peak, the held-out metrics (FVU, L0, dead
fraction, CE loss recovered) and the machine's load while it ran.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import torch

from explorer.analysis.sae import SAETrainer, TokenWindows, TrainSettings, site_for
from explorer.analysis.sae.stream import ActivationStream
from explorer.commands.model_arg import open_model_arg

FIRST = 20  # steps before the first memory reading


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="default-decoder")
    parser.add_argument("--site", default="blocks.1.resid_mlp")
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--expansion", type=int, default=8)
    parser.add_argument("--steps", type=int, default=TrainSettings.steps,
                        help=f"training steps (default {TrainSettings.steps}, as sae train)")
    parser.add_argument("--data", help="default: the data the model was trained on")


def _memory_mb() -> dict[str, float]:
    """Resident (VmRSS) and peak resident (VmHWM) memory in MB, from /proc (Linux)."""
    out = {}
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    out[key] = round(int(value.split()[0]) / 1024, 1)
    except OSError:
        pass
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.steps <= FIRST:
        raise ValueError(f"--steps must be more than {FIRST}")
    load_before = os.getloadavg()
    model, tok, _ = open_model_arg(args.model)
    site, d = site_for(model, args.site)
    data = args.data or str(model.cfg.extra.get("data", "grammar"))
    windows = TokenWindows.from_data(data, tok, model.cfg.l_max)
    settings = TrainSettings(k=args.k, expansion=args.expansion, steps=args.steps)
    trainer = SAETrainer(model, site, d, windows, settings)
    start = time.perf_counter()
    for _ in range(FIRST):
        trainer.step()
    early = _memory_mb()
    while trainer.step_count < settings.steps:
        trainer.step()
    wall = time.perf_counter() - start
    late = _memory_mb()
    metrics = trainer.evaluate()
    stream = ActivationStream(model, site, windows, settings.batch, seed=1)
    t0 = time.perf_counter()
    for _ in range(20):
        stream.next()
    stream_rate = stream.served / (time.perf_counter() - t0)
    load_after = os.getloadavg()
    return {
        "model": args.model, "site": site.step, "layer": site.layer + 1 if site.layer is not
        None else None, "features": trainer.core.d_sae, "k": args.k, "steps": settings.steps,
        "batch": settings.batch, "train_seconds": round(wall, 2),
        "activations": trainer.stream.served,
        "activations_per_s": round(trainer.stream.served / wall, 1),
        "streaming_only_activations_per_s": round(stream_rate, 1),
        "rss_mb_after_first_steps": early.get("VmRSS"), "rss_mb_at_end": late.get("VmRSS"),
        "peak_rss_mb": late.get("VmHWM"),
        **{k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()},
        "targets": {"fvu_at_most": 0.1, "ce_loss_recovered_at_least": 0.9,
                    "train_seconds_at_most": 120},
        "load_average_1min": [round(load_before[0], 2), round(load_after[0], 2)],
        "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
    }
