"""What the model makes of an example now: generated text or encoder predictions.

Shown in the Train panel every few seconds and printed at the end of a headless run.
Uses Algorithm 14 (DInference) for next-token and Algorithm 15 (EDInference) for
seq2seq; greedy predictions for masked tokens and classes.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import torch

from explorer.core import ed_generate, generate
from explorer.train.loop import Trainer
from explorer.train.objectives import mask_tokens


def _decode(trainer: Trainer, ids: list[int]) -> str:
    return trainer.tokenizer.decode([int(i) for i in ids])


def sample_text(trainer: Trainer, seed: int = 0, temperature: float = 0.8) -> str:
    """A short human-readable sample for the trainer's task (model left in its mode)."""
    task, data, model = trainer.config.task, trainer.data, trainer.model
    device = trainer.device
    if task == "next-token":
        x = data.val_example(seed)["x"]
        prompt = x[: max(1, min(8, len(x) // 4))]
        new = generate(model, prompt, max_new=model.cfg.l_max - len(prompt),
                       temperature=temperature, seed=seed)
        return f"{_decode(trainer, prompt)} ▸ {_decode(trainer, new)}"
    if task == "seq2seq":
        ex = data.val_example(seed)
        out = ed_generate(model, ex["z"], data.bos_id, data.eos_id, temperature=0.0)
        got, want = _decode(trainer, out[1:]), _decode(trainer, ex["x"][1:])
        mark = "✓" if out == ex["x"] else "✗"
        return f"{_decode(trainer, ex['z'])} → {got}  {mark} (expected {want})"
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            if task == "masked":
                return _masked_sample(trainer, seed)
            if task == "last-token":
                return _answer_sample(trainer, seed)
            return _class_sample(trainer, seed, device)
    finally:
        model.train(was_training)


def _masked_sample(trainer: Trainer, seed: int) -> str:
    data, model = trainer.data, trainer.model
    x = torch.tensor([data.val_example(seed)["x"]], device=trainer.device)
    gen = torch.Generator().manual_seed(seed)
    x_tilde, masked = mask_tokens(x, data.mask_id, trainer.config.p_mask, gen)
    pred = model(x_tilde).argmax(-1)
    where = masked[0].nonzero().flatten().tolist()
    right = sum(int(pred[0, t] == x[0, t]) for t in where)
    pairs = ", ".join(
        f"{_decode(trainer, [x[0, t]])!r}→{_decode(trainer, [pred[0, t]])!r}" for t in where[:8]
    )
    return f"{right}/{len(where)} masked tokens right: {pairs}"


def _answer_sample(trainer: Trainer, seed: int) -> str:
    """The predicted last token of four validation examples (``12 34 = ▸ 46 ✓``)."""
    lines = []
    for i in range(seed, seed + 4):
        x = trainer.data.val_example(i)["x"]
        logits = trainer.model(torch.tensor([x[:-1]], device=trainer.device))[0, -1]
        got = int(logits.argmax())
        mark = "✓" if got == x[-1] else f"✗ (expected {_decode(trainer, x[-1:])})"
        lines.append(f"{_decode(trainer, x[:-1])} ▸ {_decode(trainer, [got])} {mark}")
    return "\n".join(lines)


def _class_sample(trainer: Trainer, seed: int, device: torch.device) -> str:
    data, model = trainer.data, trainer.model
    lines = []
    for i in range(seed, seed + 4):
        ex = data.val_example(i)
        probs = torch.softmax(model.classify(torch.tensor([ex["x"]], device=device))[0], -1)
        c = int(probs.argmax())
        mark = "✓" if data.labels[c] == ex["label"] else "✗"
        lines.append(f"{mark} {data.labels[c]} ({probs[c]:.0%}): {_decode(trainer, ex['x'][1:])}")
    return "\n".join(lines)


@dataclass(frozen=True)
class Snapshot:
    """A CPU copy of the model being trained, for the inspector to re-render its view."""

    model: torch.nn.Module  # eval mode, explicit attention (recordable), on the CPU
    tokenizer: Any
    step: int
    task: str
    sample: str


def take_snapshot(trainer: Trainer, with_sample: bool = True, seed: int = 0) -> Snapshot:
    """Copy the weights to a fresh CPU model (call between steps, on the training thread)."""
    model = copy.deepcopy(trainer.model).to("cpu").eval().requires_grad_(False)
    if hasattr(model, "set_fused_attention"):
        model.set_fused_attention(False)
    sample = sample_text(trainer, seed) if with_sample else ""
    return Snapshot(model, trainer.tokenizer, trainer.step, trainer.config.task, sample)
