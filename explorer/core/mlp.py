"""The position-wise MLP of Algorithms 8-10 and its activations."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from explorer.core.hooks import HookPoint

ACTIVATION_LABEL = {"gelu": "GELU", "gelu_tanh": "GELU", "relu": "ReLU", "silu": "SiLU",
                    "swiglu": "SiLU"}


def activate(kind: str, x: torch.Tensor) -> torch.Tensor:
    """GELU (exact or tanh approximation), ReLU or SiLU (also SwiGLU's activated half)."""
    if kind == "gelu":
        return F.gelu(x)
    if kind == "gelu_tanh":
        return F.gelu(x, approximate="tanh")
    if kind == "relu":
        return F.relu(x)
    if kind in ("silu", "swiglu"):
        return F.silu(x)
    raise ValueError(f"unknown activation {kind!r}")


class MLP(nn.Module):
    """X ← W_mlp2 act(W_mlp1 X + b_mlp1 1ᵀ) + b_mlp2 1ᵀ, token by token.

    ``activation="swiglu"`` (not in the paper; Shazeer 2020, used by Llama) gates the
    hidden units with a second projection: X ← W_mlp2 (SiLU(W_mlp1 X) ⊙ W_up X).
    """

    def __init__(self, d_e: int, d_mlp: int, activation: str, bias: bool = True) -> None:
        super().__init__()
        self.activation = activation
        self.W_mlp1 = nn.Linear(d_e, d_mlp, bias=bias)
        self.W_up = nn.Linear(d_e, d_mlp, bias=bias) if activation == "swiglu" else None
        self.W_mlp2 = nn.Linear(d_mlp, d_e, bias=bias)
        self.hook_hidden_pre = HookPoint()
        self.hook_hidden = HookPoint()
        self.hook_up = HookPoint()
        self.hook_gated = HookPoint()
        self.hook_out = HookPoint()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.hook_hidden_pre(self.W_mlp1(x))  # (B, l, d_mlp)
        h = self.hook_hidden(activate(self.activation, h))
        if self.W_up is not None:
            h = self.hook_gated(h * self.hook_up(self.W_up(x)))
        return self.hook_out(self.W_mlp2(h))  # (B, l, d_e)
