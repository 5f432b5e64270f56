"""Catching a diverged step (a loss or gradient norm that is NaN or infinite) on every step,
whether it is logged or not, without applying its update.

On the CPU each step is checked on the host before its update: reading a number there costs
nothing. On CUDA reading one would wait for the GPU at every step, so ``DeviceCheck`` keeps
the check on the device: AdamW runs fused and skips its update on the device while a step
since the last check was not finite (the ``found_inf`` tensor through which
``torch.amp.GradScaler`` skips a step), and the host reads the flag at the next logged step,
where it reads the loss anyway. The trainer then goes back to the bad step.
"""

from __future__ import annotations

import math
from typing import Any

import torch


class TrainingDiverged(ValueError):
    """The loss or gradient norm became NaN or infinite."""


def checks_lazily(device: torch.device) -> bool:
    """Whether divergence is checked on the device and read at the logged steps (CUDA), or
    on the host before every update (elsewhere)."""
    return device.type == "cuda"


def diverged(loss: float, grad_norm: float, lr: float, step: int) -> TrainingDiverged:
    """The error for step ``step`` (1-based)."""
    what = "loss" if not math.isfinite(loss) else "gradient norm"
    value = loss if what == "loss" else grad_norm
    return TrainingDiverged(
        f"the {what} became {value} at step {step} (learning rate {lr:.3g}); "
        "the run stopped without applying that step. Try a lower learning rate."
    )


def finite_step(loss: torch.Tensor, grad_norm: torch.Tensor, ranks: bool) -> torch.Tensor:
    """A device bool: the step's numbers are finite. With several ranks (``ranks``) only the
    gradient norm (the same on every rank after DDP's sum) decides, so that every rank applies
    or skips the same steps; the mean loss is checked at the logged steps."""
    finite = torch.isfinite(grad_norm)
    return finite if ranks else finite & torch.isfinite(loss)


class DeviceCheck:
    """The steps since the last logged one, checked on the device (see the module
    docstring): ``record`` after each step's gradients, ``step(optimizer)`` in place of
    ``optimizer.step()``, ``first_bad()`` at a logged step (the one read of the host)."""

    def __init__(self, device: torch.device) -> None:
        self.skip = torch.zeros((), device=device)  # 1.0 once a step was not finite
        self.bad_step = torch.zeros((), dtype=torch.long, device=device)  # its number
        self.bad_values = torch.zeros(3, device=device)  # its loss, gradient norm and lr
        self.pending: list[tuple[int, Any, int]] = []  # (step, generator states, tokens)

    def record(self, step: int, finite: torch.Tensor, loss: torch.Tensor,
               grad_norm: torch.Tensor, lr: float, rng: Any, n_tokens: int) -> None:
        """Step ``step`` (0-based) ended with these numbers; nothing is read on the host."""
        newly = ~finite & (self.skip == 0)
        self.bad_step = torch.where(newly, step + 1, self.bad_step)
        numbers = torch.stack([loss.float(), grad_norm.float(),
                               torch.full((), lr, device=loss.device)])
        self.bad_values = torch.where(newly, numbers, self.bad_values)
        self.skip = torch.maximum(self.skip, (~finite).float())
        self.pending.append((step, rng, n_tokens))

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        """``optimizer.step()``, skipped on the device once a step was not finite."""
        optimizer.found_inf = self.skip  # read by fused AdamW, as GradScaler hands it over
        try:
            optimizer.step()
        finally:
            del optimizer.found_inf

    def failure(self, trainer: Any) -> TrainingDiverged | None:
        """At a logged step: None when every step since the last one was finite; else
        ``trainer`` is put back just before the first bad step (its step count, tokens and
        random generators; the updates from there on were skipped) and the error naming
        that step is returned."""
        bad = int(self.bad_step)
        if not bad:
            self.pending.clear()
            return None
        for step, _rng, n_tokens in self.pending:
            if bad <= step + 1 and step < trainer.step:  # counted when it ended
                trainer.tokens -= n_tokens
        step, rng, _ = next(p for p in self.pending if p[0] + 1 == bad)
        trainer.step = step  # the steps completed: those before the bad one
        trainer.batch_gen.set_state(rng[0])
        trainer.mask_gen.set_state(rng[1])
        loss, grad_norm, lr = self.bad_values.tolist()
        return diverged(loss, grad_norm, lr, bad)
