"""A head's anatomy: the QK and OV circuits through W_e and W_u, and its composition."""

from __future__ import annotations

import pytest
import torch
from analysis_models import make_model

from explorer.analysis import AnalysisError
from explorer.analysis.anatomy import SMALL_VOCAB, TOP_TOKENS, head_anatomy
from explorer.analysis.heads import composition


def test_the_circuits_equal_their_definitions_and_composition_is_the_previous_layers():
    model = make_model("decoder", norm_placement="pre")
    cfg = model.cfg
    a = head_anatomy(model, 1, 1)
    attn = model.stack.blocks[1].attn
    gamma = model.stack.blocks[1].attn_norm.gamma.detach()
    H, d_a, d_m = cfg.n_heads, attn.d_attn, attn.d_mid
    w_q = attn.W_q.weight.detach().view(H, d_a, -1)[1] * gamma
    w_k = attn.W_k.weight.detach().view(H, d_a, -1)[1] * gamma
    w_v = attn.W_v.weight.detach().view(H, d_m, -1)[1] * gamma
    w_o = attn.W_o.weight.detach()[:, d_m:2 * d_m]
    w_e = model.stack.embed.token.W_e.weight.detach()
    w_u = model.unembed.W_u.weight.detach() * model.stack.final_norm.gamma.detach()
    e_q, e_k = w_e @ w_q.T, w_e @ w_k.T  # (N_V, d_attn): each token as a query, a key
    torch.testing.assert_close(a.qk, e_q @ e_k.T, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(a.ov, (w_u @ w_o @ w_v @ w_e.T).T, rtol=1e-4, atol=1e-5)
    comp = composition(model)
    assert len(a.composition) == 3 * cfg.n_heads
    for source, port, score in a.composition:
        assert source.layer == 0
        assert score == pytest.approx(comp.score(source, a_node(1, 1), port))
    assert head_anatomy(model, 0, 0).composition == []


def a_node(layer, head):
    from explorer.analysis.graph import Node

    return Node("head", layer, head)


def test_a_large_vocabulary_gives_directions_and_other_models_are_refused():
    model = make_model("decoder", vocab_size=SMALL_VOCAB + 20)
    a = head_anatomy(model, 0, 0)
    assert a.qk is None and a.ov is None
    assert a.qk_directions and a.ov_directions
    values = [d.value for d in a.ov_directions]
    assert values == sorted(values, reverse=True)
    assert all(len(d.left) == TOP_TOKENS == len(d.right) for d in a.qk_directions)
    with pytest.raises(AnalysisError):
        head_anatomy(make_model("encoder"), 0, 0)
    with pytest.raises(AnalysisError, match="no layer"):
        head_anatomy(model, 5, 0)
