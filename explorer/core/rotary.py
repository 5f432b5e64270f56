"""Rotary position embeddings (Su et al. 2021): not in the paper, an extension.

Instead of adding W_p[:, t] to the token embedding (Algorithm 2), each query and key
vector of a head is rotated by its position: dimension i of the first half is paired
with dimension i + d/2 (the layout of GPT-NeoX and Llama), and the pair is rotated by
the angle t·θ_i with θ_i = base^(−2i/d), i = 0 … d/2 − 1. A rotation by t·θ followed by
a dot product with a vector rotated by s·θ depends on t − s only, so the scores
qᵀk see relative positions.
"""

from __future__ import annotations

import torch


def rotary_angles(
    length: int, d: int, base: float = 10000.0, scale: float = 1.0, device=None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(cos, sin), each (length, d): angle t·θ_i for positions t = 0 … length − 1.

    ``scale`` > 1 is linear position interpolation (positions divided by ``scale``).
    Both halves of the last dimension repeat the same d/2 angles.
    """
    inv_freq = 1.0 / (base ** (torch.arange(0, d, 2, dtype=torch.float32, device=device) / d))
    t = torch.arange(length, dtype=torch.float32, device=device) / scale
    angles = torch.outer(t, inv_freq)  # (length, d/2)
    angles = torch.cat([angles, angles], dim=-1)  # (length, d)
    return angles.cos(), angles.sin()


def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x (…, length, d) with pair (i, i + d/2) of position t rotated by t·θ_i."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    turned = torch.cat([-x2, x1], dim=-1)
    return x * cos.to(x.dtype) + turned * sin.to(x.dtype)


class Rotary(torch.nn.Module):
    """Rotates the queries and keys of every head by their positions (no parameters)."""

    def __init__(self, d: int, base: float = 10000.0, scale: float = 1.0) -> None:
        super().__init__()
        self.d, self.base, self.scale = d, float(base), float(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, H, length, d), positions 0 … length − 1."""
        cos, sin = rotary_angles(x.shape[-2], self.d, self.base, self.scale, x.device)
        return rotate(x, cos, sin)
