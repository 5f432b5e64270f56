"""Weights that are not finite numbers (NaN, ±inf): found by name, so a message can say which."""

from __future__ import annotations

import torch
from torch import nn


def nonfinite_tensors(model: nn.Module) -> list[str]:
    """Names of the parameters and buffers of ``model`` holding a NaN or an infinity."""
    found = []
    with torch.no_grad():
        for name, t in [*model.named_parameters(), *model.named_buffers()]:
            if t.is_floating_point() and not t.is_meta and not bool(torch.isfinite(t).all()):
                found.append(name)
    return found


def describe_nonfinite(names: list[str], limit: int = 4) -> str:
    """'blocks.0.attn.w_q, blocks.0.attn.w_k and 3 more tensors' (for messages)."""
    shown = ", ".join(names[:limit])
    more = len(names) - limit
    return shown + (f" and {more} more tensor{'s' if more > 1 else ''}" if more > 0 else "")
