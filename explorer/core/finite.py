"""Weights that are not finite numbers (NaN, ±inf): found by name, so a message can say which."""

from __future__ import annotations

import torch
from torch import nn

CHUNK = 1 << 20  # elements checked at once: the check's temporaries stay a few MB


def all_finite(t: torch.Tensor) -> bool:
    """Whether ``t`` holds no NaN or infinity, checked a chunk at a time, so that checking a
    large weight (GPT-2's 150 MB W_e) does not allocate temporaries of its size."""
    flat = t.detach().reshape(-1)
    return all(bool(torch.isfinite(flat[i:i + CHUNK]).all())
               for i in range(0, flat.numel(), CHUNK))


def nonfinite_tensors(model: nn.Module) -> list[str]:
    """Names of the parameters and buffers of ``model`` holding a NaN or an infinity."""
    found = []
    with torch.no_grad():
        for name, t in [*model.named_parameters(), *model.named_buffers()]:
            if t.is_floating_point() and not t.is_meta and not all_finite(t):
                found.append(name)
    return found


def describe_nonfinite(names: list[str], limit: int = 4) -> str:
    """'blocks.0.attn.w_q, blocks.0.attn.w_k and 3 more tensors' (for messages)."""
    shown = ", ".join(names[:limit])
    more = len(names) - limit
    return shown + (f" and {more} more tensor{'s' if more > 1 else ''}" if more > 0 else "")
