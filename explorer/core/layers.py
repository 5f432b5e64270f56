"""One layer of Algorithms 8-10: attention (and cross-attention), MLP, residuals, norms."""

from __future__ import annotations

import torch
from torch import nn

from explorer.core.attention import MHAttention
from explorer.core.config import ModelConfig
from explorer.core.hooks import HookPoint
from explorer.core.mlp import MLP
from explorer.core.norm import make_norm
from explorer.core.rotary import Rotary


def _mha(cfg: ModelConfig, stack: str | None, cross: bool = False) -> MHAttention:
    """Self-attention (or the decoder's cross-attention) with the stack's sizes."""
    sizes = cfg.stack_sizes(stack)
    rotary = None
    if cfg.positions == "rotary" and not cross:
        rotary = Rotary(sizes["d_attn"], cfg.rope_base, cfg.rope_scale)
    return MHAttention(
        cfg.d_e, cfg.d_e, cfg.d_e, sizes["n_heads"], sizes["d_attn"], sizes["d_mid"],
        bias=cfg.qkv_bias, n_kv_heads=sizes["n_kv_heads"], rotary=rotary,
        out_bias=cfg.out_bias,
    )


class Layer(nn.Module):
    """Layer l of a stack: X ← X + MHAttention(…); [X ← X + MHAttention(X, Z)]; X ← X + MLP(…).

    Post-norm (Alg 8, 9) normalises after each residual addition; pre-norm (Alg 10)
    normalises the input of each sub-block (X̃) and leaves the residual stream as is.
    """

    def __init__(self, cfg: ModelConfig, cross: bool = False, stack: str | None = None) -> None:
        super().__init__()
        self.pre = cfg.norm_placement == "pre"
        self.attn = _mha(cfg, stack)
        self.attn_norm = make_norm(cfg)
        self.hook_attn_norm = HookPoint()
        self.hook_resid_attn = HookPoint()
        self.cross_attn = _mha(cfg, stack, cross=True) if cross else None
        self.cross_norm = make_norm(cfg) if cross else None
        self.hook_cross_norm = HookPoint()
        self.hook_resid_cross = HookPoint()
        d_mlp = cfg.stack_sizes(stack)["d_mlp"]
        self.mlp = MLP(cfg.d_e, d_mlp, cfg.activation, bias=cfg.bias)
        self.mlp_norm = make_norm(cfg)
        self.hook_mlp_norm = HookPoint()
        self.hook_resid_mlp = HookPoint()

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None,
        z: torch.Tensor | None = None,
        z_mask: torch.Tensor | None = None,
        past: tuple[torch.Tensor, ...] | None = None,
    ) -> torch.Tensor:
        """``past``: the self-attention keys and values of earlier tokens (see MHAttention)."""
        if self.pre:
            xt = self.hook_attn_norm(self.attn_norm(x))
            x = self.hook_resid_attn(x + self.attn(xt, xt, mask, past))
            if self.cross_attn is not None:
                xt = self.hook_cross_norm(self.cross_norm(x))
                x = self.hook_resid_cross(x + self.cross_attn(xt, z, z_mask))
            xt = self.hook_mlp_norm(self.mlp_norm(x))
            return self.hook_resid_mlp(x + self.mlp(xt))
        x = self.hook_resid_attn(x + self.attn(x, x, mask, past))
        x = self.hook_attn_norm(self.attn_norm(x))
        if self.cross_attn is not None:
            x = self.hook_resid_cross(x + self.cross_attn(x, z, z_mask))
            x = self.hook_cross_norm(self.cross_norm(x))
        x = self.hook_resid_mlp(x + self.mlp(x))
        return self.hook_mlp_norm(self.mlp_norm(x))
