"""Identity hook points at every intermediate (TransformerLens's HookPoint, simplified).

A plain forward pass pays one lookup per point. ``explorer.trace.record`` attaches a
function while it records and removes it afterwards.

An attached function belongs to the thread that attached it: a window recording a trace
on its worker thread while another thread samples from (or analyses) the same model
never sees the other's functions, so neither records into, nor changes, the other's pass.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import torch
from torch import nn

from explorer.core.walk import modules

HookFn = Callable[[str, torch.Tensor], torch.Tensor]

_attached = threading.local()  # .fns: {HookPoint: HookFn} of this thread


def _fns() -> dict[HookPoint, HookFn]:
    fns = getattr(_attached, "fns", None)
    if fns is None:
        fns = _attached.fns = {}
    return fns


class HookPoint(nn.Module):
    """Returns its input unchanged, or what the attached function returns."""

    def __init__(self) -> None:
        super().__init__()
        self.step_name = ""

    @property
    def fn(self) -> HookFn | None:
        """The function attached by this thread (None: the point passes its input on)."""
        fns = getattr(_attached, "fns", None)
        return fns.get(self) if fns else None

    @fn.setter
    def fn(self, fn: HookFn | None) -> None:
        if fn is None:
            _fns().pop(self, None)
        else:
            _fns()[self] = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fn = self.fn
        if fn is None:
            return x
        return fn(self.step_name, x)

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
    for path, module in modules(model):
        if isinstance(module, HookPoint):
            name = step_name(path.removeprefix(strip))
            if module.step_name != name:  # nn.Module's __setattr__ is slow: once
                module.step_name = name
            points[name] = module
    return points
