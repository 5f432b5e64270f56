"""Algorithms 3, 4 and 5: single-query attention, masked attention, multi-head attention.

``single_query_attention`` and ``attention`` are written in the paper's orientation
(column vectors, X ∈ ℝ^{d×l}) for teaching and testing. ``MHAttention`` computes all
heads at once in PyTorch's batch-first layout and records each line of Algorithm 4.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from explorer.core.hooks import HookPoint
from explorer.core.rotary import Rotary


def single_query_attention(
    e: torch.Tensor,
    e_ctx: torch.Tensor,
    W_q: torch.Tensor,
    b_q: torch.Tensor,
    W_k: torch.Tensor,
    b_k: torch.Tensor,
    W_v: torch.Tensor,
    b_v: torch.Tensor,
) -> torch.Tensor:
    """Algorithm 3: basic single-query attention.

    ``e`` (d_in,) is the current token, ``e_ctx`` (d_in, T) its context as columns.
    Returns ṽ = Σ_t α_t v_t with α = softmax(qᵀk_t / √d_attn), shape (d_out,).
    """
    q = W_q @ e + b_q  # (d_attn,)
    k = W_k @ e_ctx + b_k[:, None]  # (d_attn, T)
    v = W_v @ e_ctx + b_v[:, None]  # (d_out, T)
    alpha = torch.softmax(q @ k / math.sqrt(q.shape[0]), dim=0)  # (T,)
    return v @ alpha


def attention(
    X: torch.Tensor,
    Z: torch.Tensor,
    W_q: torch.Tensor,
    b_q: torch.Tensor,
    W_k: torch.Tensor,
    b_k: torch.Tensor,
    W_v: torch.Tensor,
    b_v: torch.Tensor,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Algorithm 4: Ṽ ← Attention(X, Z | W_qkv, Mask), in the paper's orientation.

    X (d_x, l_x) primary, Z (d_z, l_z) context, Mask (l_z, l_x) of 0/1 (None = all 1).
    Returns Ṽ (d_out, l_x).
    """
    Q = W_q @ X + b_q[:, None]  # (d_attn, l_x)
    K = W_k @ Z + b_k[:, None]  # (d_attn, l_z)
    V = W_v @ Z + b_v[:, None]  # (d_out, l_z)
    S = K.T @ Q  # (l_z, l_x)
    if mask is not None:
        S = S.masked_fill(~mask.bool(), float("-inf"))
    return V @ torch.softmax(S / math.sqrt(Q.shape[0]), dim=0)


def unidirectional_mask(l_x: int, l_z: int | None = None, device=None) -> torch.Tensor:
    """Mask[t_z, t_x] = [t_z <= t_x] in the paper's (l_z, l_x) orientation."""
    l_z = l_x if l_z is None else l_z
    t_z = torch.arange(l_z, device=device)[:, None]
    t_x = torch.arange(l_x, device=device)[None, :]
    return t_z <= t_x


class MHAttention(nn.Module):
    """Algorithm 5: multi-head attention, all H heads at once.

    Parameters as the paper names them, one matrix for all heads (head h owns rows
    h·d_attn … (h+1)·d_attn of W_q and W_k, and h·d_mid … of W_v):
    W_q, W_k ∈ ℝ^{H·d_attn × d_in}, W_v ∈ ℝ^{H·d_mid × d_in}, W_o ∈ ℝ^{d_out × H·d_mid}.

    Extensions (not in the paper): ``n_kv_heads`` < H is grouped-query attention, W_k
    and W_v have n_kv_heads heads and query head h uses key/value head
    h // (H / n_kv_heads); the recorded K and V hold each query head's copy.
    ``rotary`` rotates Q and K by position before the scores (then ``q_pre`` and
    ``k_pre`` record them unrotated).
    """

    def __init__(
        self,
        d_x: int,
        d_z: int,
        d_out: int,
        n_heads: int,
        d_attn: int,
        d_mid: int,
        bias: bool = True,
        n_kv_heads: int | None = None,
        rotary: Rotary | None = None,
        out_bias: bool | None = None,
    ) -> None:
        super().__init__()
        self.n_heads, self.d_attn, self.d_mid = n_heads, d_attn, d_mid
        self.n_kv_heads = n_heads if n_kv_heads is None else n_kv_heads
        self.W_q = nn.Linear(d_x, n_heads * d_attn, bias=bias)
        self.W_k = nn.Linear(d_z, self.n_kv_heads * d_attn, bias=bias)
        self.W_v = nn.Linear(d_z, self.n_kv_heads * d_mid, bias=bias)
        self.W_o = nn.Linear(n_heads * d_mid, d_out, bias=bias if out_bias is None else out_bias)
        self.rotary = rotary
        self.fused = False  # training may switch to scaled_dot_product_attention
        self.hook_q_pre = HookPoint()
        self.hook_k_pre = HookPoint()
        self.hook_q = HookPoint()
        self.hook_k = HookPoint()
        self.hook_v = HookPoint()
        self.hook_scores = HookPoint()
        self.hook_masked_scores = HookPoint()
        self.hook_pattern = HookPoint()
        self.hook_head_out = HookPoint()
        self.hook_stacked = HookPoint()
        self.hook_out = HookPoint()

    def _split(self, t: torch.Tensor, d: int, heads: int | None = None) -> torch.Tensor:
        B, l, _ = t.shape
        heads = self.n_heads if heads is None else heads
        return t.view(B, l, heads, d).transpose(1, 2)  # (B, H, l, d)

    def _shared(self, t: torch.Tensor) -> torch.Tensor:
        """(B, n_kv_heads, l, d) -> (B, H, l, d): each query head's key/value head."""
        if self.n_kv_heads == self.n_heads:
            return t
        return t.repeat_interleave(self.n_heads // self.n_kv_heads, dim=1)

    @staticmethod
    def _continued(past: tuple[torch.Tensor, ...], k: torch.Tensor,
                   v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """[past; new] keys and values: written into the buffers after the past when
        ``past`` brings them, else joined."""
        if len(past) == 2:
            return (torch.cat([past[0].to(k.dtype), k], dim=2),
                    torch.cat([past[1].to(v.dtype), v], dim=2))
        t, end = past[0].shape[2], past[0].shape[2] + k.shape[2]
        K, V = past[2], past[3]
        if end > K.shape[2] or K.dtype != k.dtype:
            raise ValueError(f"the key/value buffers hold {K.shape[2]} {K.dtype} positions, "
                             f"not {end} {k.dtype}")
        K[:, :, t:end] = k
        V[:, :, t:end] = v
        return K[:, :, :end], V[:, :, :end]

    def forward(
        self,
        x: torch.Tensor,
        z: torch.Tensor,
        mask: torch.Tensor | None = None,
        past: tuple[torch.Tensor, ...] | None = None,
    ) -> torch.Tensor:
        """x (B, l_x, d_x), z (B, l_z, d_z); mask broadcastable to (B, H, l_x, l_z),
        True where a query may attend (the transpose of the paper's Mask).

        ``past``: the keys and values (B, H, t, d) of the t context tokens before z,
        computed earlier (one per query head); K and V are then [past; new] and cover
        t + l_z tokens. ``past`` (K, V, K buffer, V buffer): K and V are the first t
        positions of two buffers (B, H, capacity, d); the new keys and values are written
        into the buffers after them and K and V are views of the first t + l_z positions
        (no copy of the past). Rotary positions rotate by absolute position, which ``past`` does
        not carry: a model with them always records in full (``trace.splice``)."""
        kv = self.n_kv_heads
        q = self._split(self.W_q(x), self.d_attn)  # (B, H, l_x, d_attn)
        k = self._split(self.W_k(z), self.d_attn, kv)  # (B, H_kv, l_z, d_attn)
        v = self._split(self.W_v(z), self.d_mid, kv)
        if self.rotary is not None:
            if past is not None:
                raise ValueError("rotary positions cannot continue stored keys and values")
            q, k = self.hook_q_pre(q), self.hook_k_pre(self._shared(k))
            v = self.hook_v(self._shared(v))
            q, k = self.hook_q(self.rotary(q)), self.hook_k(self.rotary(k))
        else:
            q, k, v = self.hook_q(q), self._shared(k), self._shared(v)
            if past is not None:
                k, v = self._continued(past, k, v)
            k = self.hook_k(k)  # (B, H, l_z, d_attn)
            v = self.hook_v(v)  # (B, H, l_z, d_mid)
        if self.fused and not self.hook_pattern.active:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        else:
            s = self.hook_scores(q @ k.transpose(-2, -1))  # (B, H, l_x, l_z) = Sᵀ
            if mask is not None:
                s = s.masked_fill(~mask, float("-inf"))
            s = self.hook_masked_scores(s)
            a = torch.softmax(s / math.sqrt(self.d_attn), dim=-1)
            if mask is not None and mask.dim() == 4 and mask.shape[0] > 1:
                a = a.nan_to_num(0.0)  # a query whose every key is padding
            a = self.hook_pattern(a)
            y = a @ v  # (B, H, l_x, d_mid)
        y = self.hook_head_out(y)
        B, _, l_x, _ = y.shape
        y = self.hook_stacked(y.transpose(1, 2).reshape(B, l_x, self.n_heads * self.d_mid))
        return self.hook_out(self.W_o(y))  # (B, l_x, d_out)
