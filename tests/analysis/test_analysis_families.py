"""The analyses work on the extensions too: a Llama-style decoder (RMSnorm, rotary
positions, SwiGLU, grouped-query attention) and an encoder-decoder with per-stack heads."""

from __future__ import annotations

import torch

from explorer.analysis import direct_logit_attribution, logit_lens, token_loss
from explorer.core import ModelConfig, build_model
from explorer.trace import record


def test_lens_dla_and_loss_on_a_llama_style_decoder():
    torch.manual_seed(0)
    cfg = ModelConfig(arch="decoder", vocab_size=40, l_max=16, d_e=24, n_heads=6,
                      n_kv_heads=2, n_layers=2, norm="rms", positions="rotary",
                      activation="swiglu", bias=False)
    model = build_model(cfg).eval()
    ids = torch.randint(0, 40, (1, 8))
    logits, trace = record(model, ids)
    lens = logit_lens(model, ids, trace=trace)
    probs = torch.softmax(logits[0], dim=-1)
    assert torch.equal(lens.top_probs[-1, :, 0], probs.max(dim=-1).values)
    parts = direct_logit_attribution(model, ids, position=5, target=3, trace=trace)
    assert abs(float(parts.values.sum() + parts.remainder) - float(parts.logit)) < 1e-5
    assert abs(float(parts.logit) - float(logits[0, 5, 3])) < 1e-5
    loss = token_loss(model, ids, trace=trace)
    expected = torch.nn.functional.cross_entropy(logits[0, :-1], ids[0, 1:])
    assert torch.isclose(torch.tensor(float(loss.mean)), expected, atol=1e-5)


def test_lens_on_an_encoder_decoder_with_per_stack_heads():
    torch.manual_seed(0)
    cfg = ModelConfig(arch="encoder-decoder", vocab_size=40, l_max=16, d_e=24, n_heads=4,
                      n_dec_heads=2, n_layers=2)
    model = build_model(cfg).eval()
    x, z = torch.randint(0, 40, (1, 6)), torch.randint(0, 40, (1, 5))
    logits, _ = record(model, z, x)  # Algorithm 8: the context z first
    lens = logit_lens(model, x, context=z)
    assert torch.allclose(lens.top_probs[-1, :, 0], torch.softmax(logits[0], -1).max(-1).values)
