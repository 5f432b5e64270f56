"""Algorithms 1 and 2: token and positional embeddings, and their sum."""

from __future__ import annotations

import math

import torch
from torch import nn

from explorer.core.config import ModelConfig
from explorer.core.hooks import HookPoint
from explorer.core.norm import make_norm


class TokenEmbedding(nn.Module):
    """Algorithm 1: token embedding, e = W_e[:, v].

    ``W_e.weight`` is stored row-per-token, (N_V, d_e) = W_eᵀ, as torch does.
    """

    def __init__(self, vocab_size: int, d_e: int) -> None:
        super().__init__()
        self.W_e = nn.Embedding(vocab_size, d_e)
        nn.init.normal_(self.W_e.weight, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.W_e(x)  # (B, l, d_e)


def sinusoidal_table(
    l_max: int, d_e: int, base: float | None = None, style: str = "paper"
) -> torch.Tensor:
    """Algorithm 2's fixed positional embedding, as a (l_max, d_e) table (W_pᵀ).

    ``style="paper"`` follows the paper exactly: for 1-based position t and
    0 < i <= d_e/2, W_p[2i-1, t] = sin(t / b^(2i/d_e)) and W_p[2i, t] = cos(...),
    with b = l_max unless ``base`` is given. ``style="halves"`` is the fairseq /
    Marian layout: 0-based t, exponent 2j/d_e for j from 0, sines in the first half
    of the dimensions and cosines in the second.
    """
    b = float(base) if base else float(l_max)
    half = d_e // 2
    if style == "paper":
        t = torch.arange(1, l_max + 1, dtype=torch.float64)[:, None]
        i = torch.arange(1, half + 1, dtype=torch.float64)[None, :]
        angle = t / b ** (2 * i / d_e)
        table = torch.zeros(l_max, d_e, dtype=torch.float64)
        table[:, 0::2] = torch.sin(angle)  # paper rows 2i-1 (1-based) = 0-based even
        table[:, 1::2] = torch.cos(angle)
    elif style == "halves":
        t = torch.arange(l_max, dtype=torch.float64)[:, None]
        j = torch.arange(half, dtype=torch.float64)[None, :]
        angle = t / b ** (2 * j / d_e)
        table = torch.cat([torch.sin(angle), torch.cos(angle)], dim=1)
    else:
        raise ValueError(f"unknown sinusoid style {style!r}")
    return table.to(torch.float32)


class PositionalEmbedding(nn.Module):
    """Algorithm 2: positional embedding, e_p = W_p[:, t] (learned or sinusoidal)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.kind = cfg.positions
        if cfg.positions == "learned":
            self.W_p = nn.Embedding(cfg.l_max, cfg.d_e)
            nn.init.normal_(self.W_p.weight, std=0.02)
        elif cfg.positions == "sinusoidal":
            table = sinusoidal_table(cfg.l_max, cfg.d_e, cfg.sinusoid_base, cfg.sinusoid_style)
            self.register_buffer("table", table, persistent=False)

    def forward(
        self, length: int, device: torch.device, start: int = 0
    ) -> torch.Tensor | None:
        """W_p[:, t] for the ``length`` positions from 0-based ``start`` on, as (l, d_e)."""
        if self.kind == "learned":
            return self.W_p.weight[start : start + length]  # (l, d_e)
        if self.kind == "sinusoidal":
            return self.table[start : start + length].to(device)
        return None


class Embedding(nn.Module):
    """Lines 1-3 of Algorithms 8-10: X[:, t] = W_e[:, x[t]] + W_p[:, t].

    Shares ``token`` (and optionally ``position``) with another stack when given.
    Variants for real checkpoints: √d_e scaling of W_e columns, token-type
    embeddings (BERT) and a norm after the sum (BERT, BART).
    """

    def __init__(
        self,
        cfg: ModelConfig,
        token: TokenEmbedding,
        position: PositionalEmbedding | None = None,
    ) -> None:
        super().__init__()
        self.cfg = cfg
        self.token = token
        self.position = position if position is not None else PositionalEmbedding(cfg)
        self.scale = math.sqrt(cfg.d_e) if cfg.scale_embedding else 1.0
        self.W_t = nn.Embedding(cfg.n_token_types, cfg.d_e) if cfg.n_token_types else None
        self.norm = make_norm(cfg) if cfg.embed_norm else None
        self.hook_ids = HookPoint()
        self.hook_token = HookPoint()
        self.hook_position = HookPoint()
        self.hook_token_type = HookPoint()
        self.hook_sum = HookPoint()
        self.hook_norm = HookPoint()

    def forward(
        self, x: torch.Tensor, token_types: torch.Tensor | None = None, start: int = 0
    ) -> torch.Tensor:
        """``start``: the 0-based position of x's first token (0 unless earlier tokens
        were computed before, see ``explorer.core.models.Prefix``)."""
        x = self.hook_ids(x)  # (B, l)
        e = self.token(x)  # (B, l, d_e)
        if self.scale != 1.0:
            e = e * self.scale
        e = self.hook_token(e)
        p = self.position(x.shape[1], x.device, start)
        if p is not None:
            p = self.hook_position(p.unsqueeze(0).expand_as(e))  # (B, l, d_e)
            e = e + p
        if self.W_t is not None:
            types = torch.zeros_like(x) if token_types is None else token_types
            e = e + self.hook_token_type(self.W_t(types))
        e = self.hook_sum(e)
        if self.norm is not None:
            e = self.hook_norm(self.norm(e))
        return e
