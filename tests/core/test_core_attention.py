"""Algorithms 3-5 against PyTorch's own attention."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from explorer.core import MHAttention, attention, single_query_attention, unidirectional_mask

torch.manual_seed(0)


def _weights(d_in: int, d_attn: int, d_out: int, d_z: int | None = None):
    d_z = d_in if d_z is None else d_z
    return dict(
        W_q=torch.randn(d_attn, d_in), b_q=torch.randn(d_attn),
        W_k=torch.randn(d_attn, d_z), b_k=torch.randn(d_attn),
        W_v=torch.randn(d_out, d_z), b_v=torch.randn(d_out),
    )


def _sdpa(X, Z, w, mask=None):
    """The same computation with torch's fused kernel, in torch layout."""
    q = (w["W_q"] @ X + w["b_q"][:, None]).T[None]  # (1, l_x, d_attn)
    k = (w["W_k"] @ Z + w["b_k"][:, None]).T[None]
    v = (w["W_v"] @ Z + w["b_v"][:, None]).T[None]
    attn_mask = None if mask is None else mask.T[None]  # (1, l_x, l_z)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)[0].T


def test_bidirectional_equals_sdpa():
    X = torch.randn(8, 5)
    w = _weights(8, 4, 6)
    torch.testing.assert_close(attention(X, X, **w), _sdpa(X, X, w))


def test_unidirectional_equals_sdpa_causal():
    X = torch.randn(8, 6)
    w = _weights(8, 4, 6)
    mask = unidirectional_mask(6)
    assert mask[0, 5] and not mask[5, 0]  # Mask[t_z, t_x] = [t_z <= t_x]
    ours = attention(X, X, **w, mask=mask)
    q = (w["W_q"] @ X + w["b_q"][:, None]).T[None]
    k = (w["W_k"] @ X + w["b_k"][:, None]).T[None]
    v = (w["W_v"] @ X + w["b_v"][:, None]).T[None]
    ref = F.scaled_dot_product_attention(q, k, v, is_causal=True)[0].T
    torch.testing.assert_close(ours, ref)


def test_cross_attention_equals_sdpa():
    X, Z = torch.randn(8, 3), torch.randn(5, 7)
    w = _weights(8, 4, 6, d_z=5)
    torch.testing.assert_close(attention(X, Z, **w), _sdpa(X, Z, w))


def test_padding_mask_equals_sdpa():
    X = torch.randn(8, 6)
    w = _weights(8, 4, 6)
    mask = torch.ones(6, 6, dtype=torch.bool)
    mask[4:, :] = False  # the last two context tokens are padding
    torch.testing.assert_close(attention(X, X, **w, mask=mask), _sdpa(X, X, w, mask))


def test_single_query_is_one_column_of_attention():
    X, Z = torch.randn(8, 4), torch.randn(8, 6)
    w = _weights(8, 5, 3)
    full = attention(X, Z, **w)
    for t in range(4):
        col = single_query_attention(X[:, t], Z, **w)
        torch.testing.assert_close(col, full[:, t])


def test_single_query_softmax_by_hand():
    e = torch.tensor([1.0, 0.0])
    ctx = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    eye, zero = torch.eye(2), torch.zeros(2)
    out = single_query_attention(e, ctx, eye, zero, eye, zero, eye, zero)
    a = math.exp(1 / math.sqrt(2))
    alpha = torch.tensor([a, 1.0]) / (a + 1)
    torch.testing.assert_close(out, alpha)


@pytest.mark.parametrize("causal", [False, True])
def test_mhattention_equals_torch_multihead(causal):
    d, H, l = 12, 3, 5
    ours = MHAttention(d, d, d, H, d // H, d // H)
    ref = torch.nn.MultiheadAttention(d, H, batch_first=True)
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.cat([ours.W_q.weight, ours.W_k.weight, ours.W_v.weight]))
        ref.in_proj_bias.copy_(torch.cat([ours.W_q.bias, ours.W_k.bias, ours.W_v.bias]))
        ref.out_proj.weight.copy_(ours.W_o.weight)
        ref.out_proj.bias.copy_(ours.W_o.bias)
    x = torch.randn(2, l, d)
    allowed = torch.ones(l, l, dtype=torch.bool).tril() if causal else None
    got = ours(x, x, None if allowed is None else allowed[None, None])
    want, _ = ref(x, x, x, attn_mask=None if allowed is None else ~allowed, need_weights=False)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_fused_path_matches_explicit():
    d, H = 16, 4
    mha = MHAttention(d, d, d, H, 4, 4)
    x = torch.randn(3, 7, d)
    mask = torch.ones(7, 7, dtype=torch.bool).tril()[None, None]
    explicit = mha(x, x, mask)
    mha.fused = True
    torch.testing.assert_close(mha(x, x, mask), explicit, atol=1e-5, rtol=1e-5)


def test_cross_attention_with_padded_context_ignores_pad():
    d, H = 8, 2
    mha = MHAttention(d, d, d, H, 4, 4)
    x, z = torch.randn(1, 3, d), torch.randn(1, 5, d)
    keys = torch.tensor([[True, True, True, False, False]])[:, None, None, :]
    padded = mha(x, z, keys)
    trimmed = mha(x, z[:, :3], None)
    torch.testing.assert_close(padded, trimmed, atol=1e-6, rtol=1e-5)
