"""Algorithm 6: layer normalisation, and RMSnorm (Gopher)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from explorer.core.config import ModelConfig


class LayerNorm(nn.Module):
    """Algorithm 6: layer normalisation, (e - m) / sqrt(v) ⊙ γ + β over d_e."""

    def __init__(self, d_e: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(d_e))
        self.beta = nn.Parameter(torch.zeros(d_e))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, (x.shape[-1],), self.gamma, self.beta, self.eps)


class RMSNorm(nn.Module):
    """Algorithm 6, RMSnorm variant: e / sqrt(mean(e²)) ⊙ γ (m = 0, β = 0)."""

    def __init__(self, d_e: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(d_e))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = x.pow(2).mean(dim=-1, keepdim=True)
        return x * torch.rsqrt(v + self.eps) * self.gamma


def make_norm(cfg: ModelConfig) -> nn.Module:
    """The norm the config asks for (layer norm or RMSnorm) over d_e."""
    if cfg.norm == "rms":
        return RMSNorm(cfg.d_e, cfg.norm_eps)
    return LayerNorm(cfg.d_e, cfg.norm_eps)
