"""The activation-patching part of ``bench analysis``: batched vs one run at a time.

The full residual-stream sweep (every layer × every position, clean → corrupted, one
token changed) on a GPT-2-small-sized random decoder at 16 tokens (12 × 16 = 192 patched
runs): ``activation_patching(..., batched=True)`` (the runs as a few batches, each
entering at its own layer, only the last position read out) against ``batched=False``
(one full forward pass per patched run through the hook points, as a notebook loop
does), in the same process, interleaved in rounds (``bench.rounds``). Both include the
two recordings of the clean and corrupted texts. Targets: the loop takes ≥ 3× the
batched sweep's time, and the batched sweep takes under 10 s.
"""

from __future__ import annotations

from typing import Any

import torch

from explorer.analysis import activation_patching
from explorer.bench.rounds import interleaved, medians_ms, summary

RATIO_TARGET = 3.0
SECONDS_TARGET = 10.0


def pair_texts(model, length: int) -> tuple[torch.Tensor, torch.Tensor, int, int]:
    """A clean text, the same with one token changed, and two tokens whose logit
    difference the two texts' runs disagree on (each run's top token)."""
    g = torch.Generator().manual_seed(length)
    vocab = model.cfg.vocab_size
    clean = torch.randint(0, vocab, (length,), generator=g)
    corrupted = clean.clone()
    corrupted[length // 2] = (clean[length // 2] + 1) % vocab
    device = next(model.parameters()).device
    with torch.no_grad():
        a = model(clean[None].to(device))[0, -1]
        b = model(corrupted[None].to(device))[0, -1]
    target = int(a.argmax())
    other = int(b.argmax()) if int(b.argmax()) != target else int(a.topk(2).indices[1])
    return clean, corrupted, target, other


def measure_patching(model, length: int, rounds: int, device: torch.device) -> dict[str, Any]:
    """Batched vs one-at-a-time residual patching sweep, interleaved rounds."""
    clean, corrupted, target, other = pair_texts(model, length)

    def batched():
        return activation_patching(model, clean, corrupted, target, other, ["resid"],
                                   remember=False)

    def loop():
        return activation_patching(model, clean, corrupted, target, other, ["resid"],
                                   batched=False, remember=False)

    a, b = batched()["resid"].values, loop()["resid"].values
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else None
    rows = interleaved({"batched": batched, "one_at_a_time": loop}, rounds, sync=sync)
    ratio = summary(rows, "one_at_a_time", "batched")
    times = medians_ms(rows)
    return {
        "l": length, "patched_runs": int(a.numel()),
        "sweep": "residual stream entering each layer × each position",
        "batched_ms": times["batched"], "one_at_a_time_ms": times["one_at_a_time"],
        "one_at_a_time_over_batched": ratio,
        "max_abs_difference": float((a - b).abs().max()),
        "ratio_target": RATIO_TARGET,
        "meets_ratio_target": ratio["median_round_ratio"] >= RATIO_TARGET,
        "seconds_target": SECONDS_TARGET,
        "meets_seconds_target": times["batched"]["median_ms"] / 1000 < SECONDS_TARGET,
    }
