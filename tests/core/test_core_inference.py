"""Algorithms 14-15: sampling with temperature, greedy decoding, stopping."""

from __future__ import annotations

import pytest
import torch

from explorer.core import (
    ModelConfig,
    build_model,
    d_inference_steps,
    ed_generate,
    generate,
    next_token_distribution,
    tempered,
)


def _decoder():
    torch.manual_seed(0)
    return build_model(ModelConfig(arch="decoder", vocab_size=13, l_max=10, d_e=16, n_heads=2))


def test_tempered_matches_p_to_the_one_over_tau():
    logits = torch.tensor([1.0, 2.0, 0.5, -1.0])
    p = torch.softmax(logits, -1)
    for tau in (0.3, 1.0, 2.5):
        q = p ** (1 / tau)
        torch.testing.assert_close(tempered(logits, tau), q / q.sum())
    assert tempered(logits, 0).tolist() == [0.0, 1.0, 0.0, 0.0]
    with pytest.raises(ValueError):
        tempered(logits, -1)


def test_top_k_and_top_p():
    logits = torch.log(torch.tensor([0.5, 0.3, 0.15, 0.05]))
    q = next_token_distribution(logits, 1.0, top_k=2)
    torch.testing.assert_close(q, torch.tensor([0.625, 0.375, 0.0, 0.0]))
    q = next_token_distribution(logits, 1.0, top_p=0.75)
    torch.testing.assert_close(q, torch.tensor([0.625, 0.375, 0.0, 0.0]))


def test_greedy_equals_argmax_at_every_step():
    model = _decoder().eval()
    prompt = [1, 2, 3]
    out = generate(model, prompt, 6, temperature=0)
    x = list(prompt)
    for y in out:
        want = int(model(torch.tensor([x]))[0, -1].argmax())
        assert y == want
        x.append(y)


def test_fixed_seed_repeats_and_window_slides():
    model = _decoder()
    a = generate(model, [1, 2], 15, temperature=1.0, seed=7)
    b = generate(model, [1, 2], 15, temperature=1.0, seed=7)
    assert a == b and len(a) == 15  # longer than l_max: the context window slides
    steps = list(d_inference_steps(model, [1], 3, temperature=0.5, seed=1))
    assert all(abs(float(s.q.sum()) - 1) < 1e-5 for s in steps)


def test_ed_inference_stops_at_eos_and_l_max():
    torch.manual_seed(1)
    cfg = ModelConfig(arch="encoder-decoder", vocab_size=9, l_max=7, d_e=16, n_heads=2,
                      unembed_bias=True)
    model = build_model(cfg)
    with torch.no_grad():  # no token but 0 is likely: eos never comes, l_max stops it
        model.unembed.W_u.weight.zero_()
        model.unembed.W_u.bias.fill_(-1e4)
        model.unembed.W_u.bias[0] = 0
    out = ed_generate(model, [1, 2, 3], bos_id=7, eos_id=8, temperature=1.0, seed=3)
    assert out == [7, 0, 0, 0, 0, 0, 0]  # bos + tokens, exactly l_max long
    with torch.no_grad():  # now eos is certain: it stops right after bos
        model.unembed.W_u.bias[8] = 1e4
    assert ed_generate(model, [1, 2, 3], bos_id=7, eos_id=8, temperature=1.0, seed=3) == [7, 8]


def test_a_suspended_generation_leaves_the_callers_modes_alone():
    from explorer.core import ed_inference_steps

    model = _decoder().train()
    steps = d_inference_steps(model, [1, 2], 5, temperature=0)
    next(steps)  # suspended between tokens, as the window's Infer tab leaves it
    assert torch.is_grad_enabled() and model.training
    loss = model(torch.tensor([[1, 2, 3]])).sum()
    loss.backward()  # a training step can run meanwhile
    next(steps)
    torch.manual_seed(0)
    ed = build_model(ModelConfig(arch="encoder-decoder", vocab_size=13, l_max=10, d_e=16,
                                 n_heads=2)).train()
    ed_steps = ed_inference_steps(ed, [3, 4], bos_id=1, eos_id=2, temperature=0)
    next(ed_steps)
    assert torch.is_grad_enabled() and ed.training
