"""Algorithms 1, 2, 6 and 7."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from explorer.core import LayerNorm, ModelConfig, RMSNorm, build_model, sinusoidal_table
from explorer.core.embedding import PositionalEmbedding


def test_layer_norm_equals_torch():
    ln = LayerNorm(6)
    with torch.no_grad():
        ln.gamma.copy_(torch.randn(6))
        ln.beta.copy_(torch.randn(6))
    x = torch.randn(2, 4, 6)
    torch.testing.assert_close(ln(x), F.layer_norm(x, (6,), ln.gamma, ln.beta, 1e-5))


def test_layer_norm_equals_paper_formula():
    ln = LayerNorm(5, eps=0.0)
    e = torch.tensor([1.0, 2.0, 4.0, -1.0, 0.5])
    m = e.mean()
    v = ((e - m) ** 2).mean()
    torch.testing.assert_close(ln(e), (e - m) / torch.sqrt(v))


def test_rms_norm_equals_its_formula():
    rms = RMSNorm(4, eps=0.0)
    with torch.no_grad():
        rms.gamma.copy_(torch.tensor([1.0, 2.0, 0.5, -1.0]))
    e = torch.tensor([3.0, -1.0, 2.0, 0.0])
    want = e / math.sqrt((e**2).mean().item()) * rms.gamma
    torch.testing.assert_close(rms(e), want)


def test_sinusoidal_table_follows_the_paper():
    l_max, d_e = 10, 6
    table = sinusoidal_table(l_max, d_e)  # (l_max, d_e) = W_pᵀ
    for t in range(1, l_max + 1):  # the paper's 1-based position
        for i in range(1, d_e // 2 + 1):
            angle = t / l_max ** (2 * i / d_e)
            assert math.isclose(table[t - 1, 2 * i - 2].item(), math.sin(angle), abs_tol=1e-6)
            assert math.isclose(table[t - 1, 2 * i - 1].item(), math.cos(angle), abs_tol=1e-6)


def test_sinusoidal_halves_style():
    table = sinusoidal_table(4, 4, base=10000, style="halves")
    assert torch.allclose(table[0], torch.tensor([0.0, 0.0, 1.0, 1.0]))
    assert math.isclose(table[2, 1].item(), math.sin(2 / 10000 ** 0.5), abs_tol=1e-6)


def test_positional_embedding_kinds():
    cfg = ModelConfig(arch="decoder", vocab_size=10, l_max=8, d_e=8, n_heads=2,
                      positions="sinusoidal")
    pe = PositionalEmbedding(cfg)
    assert not list(pe.parameters())  # fixed, not learned
    torch.testing.assert_close(pe(5, torch.device("cpu")), sinusoidal_table(8, 8)[:5])
    learned = PositionalEmbedding(cfg.replace(positions="learned"))
    assert learned(3, torch.device("cpu")).shape == (3, 8)


def test_token_embedding_is_a_column_of_W_e():
    model = build_model(ModelConfig(arch="decoder", vocab_size=12, l_max=6, d_e=8, n_heads=2))
    from explorer.trace import record

    x = torch.tensor([[3, 7, 7]])
    _, trace = record(model, x)
    W_e = model.stack.embed.token.W_e.weight.T  # (d_e, N_V), the paper's W_e
    torch.testing.assert_close(trace.paper("embed.token")[:, 1], W_e[:, 7])
    W_p = model.stack.embed.position.W_p.weight.T
    torch.testing.assert_close(trace.paper("embed.sum")[:, 2], W_e[:, 7] + W_p[:, 2])


def test_unembedding_tied_and_untied():
    cfg = ModelConfig(arch="decoder", vocab_size=11, l_max=6, d_e=8, n_heads=2)
    untied = build_model(cfg)
    assert untied.unembed.W_u.weight is not untied.stack.embed.token.W_e.weight
    tied = build_model(cfg.replace(tie_unembedding=True))
    assert tied.unembed.W_u.weight is tied.stack.embed.token.W_e.weight
    assert tied.num_parameters() == untied.num_parameters() - 11 * 8
