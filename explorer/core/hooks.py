"""Identity hook points at every intermediate (TransformerLens's HookPoint, simplified).

A plain forward pass pays one attribute test per point. ``explorer.trace.record``
attaches a function while it records and removes it afterwards.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

HookFn = Callable[[str, torch.Tensor], torch.Tensor]


class HookPoint(nn.Module):
    """Returns its input unchanged, or what the attached function returns."""

    def __init__(self) -> None:
        super().__init__()
        self.fn: HookFn | None = None
        self.step_name = ""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fn is None:
            return x
        return self.fn(self.step_name, x)

    @property
    def active(self) -> bool:
        return self.fn is not None


def step_name(module_path: str) -> str:
    """``blocks.0.attn.hook_q`` -> ``blocks.0.attn.q``."""
    head, _, last = module_path.rpartition(".")
    last = last.removeprefix("hook_")
    return f"{head}.{last}" if head else last


def hook_points(model: nn.Module, strip: str = "stack.") -> dict[str, HookPoint]:
    """Every hook point of ``model`` by step name, in module-definition order.

    The single stack of a decoder- or encoder-only model is not named in steps:
    ``stack.blocks.0.attn.hook_q`` is the step ``blocks.0.attn.q``.
    """
    points: dict[str, HookPoint] = {}
    for path, module in model.named_modules():
        if isinstance(module, HookPoint):
            module.step_name = step_name(path.removeprefix(strip))
            points[module.step_name] = module
    return points
