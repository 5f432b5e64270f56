"""The logit lens: the last point is the model's output; every point uses its own norm
statistics; top-k, entropy, target probability and rank are consistent."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from analysis_models import ids, inputs_for, make_model, model_args

from explorer.analysis import (
    AnalysisError,
    default_targets,
    lens_distribution,
    lens_logits,
    logit_lens,
    residual_points,
)
from explorer.trace import record


def test_last_point_is_the_models_output_distribution(variant):
    _, model = variant
    x, z = inputs_for(model)
    with torch.no_grad():
        probs = torch.softmax(model(*model_args(model, x, z))[0], dim=-1)
    lens = logit_lens(model, x, context=z, top_k=6)
    assert lens.top_ids.shape == (len(residual_points(model)), len(x), 6)
    expected = probs.topk(6, dim=-1)
    assert torch.equal(lens.top_ids[-1], expected.indices)
    assert torch.equal(lens.top_probs[-1], expected.values)
    has = lens.targets >= 0
    rows = torch.arange(len(x))[has]
    assert torch.equal(lens.target_probs[-1][has], probs[rows, lens.targets[has]])
    entropy = -(probs * torch.log_softmax(model(*model_args(model, x, z))[0], -1)).sum(-1)
    assert torch.allclose(lens.entropy[-1], entropy.detach(), atol=1e-5)


def test_recomputed_readout_of_the_last_point_matches_the_logits(variant):
    _, model = variant
    x, z = inputs_for(model)
    _, logits = lens_logits(model, x, context=z)
    with torch.no_grad():
        real = model(*model_args(model, x, z))[0]
    assert (logits[-1] - real).abs().max().item() < 1e-4


def test_points_cover_every_residual_addition():
    model = make_model("encoder-decoder", n_layers=2)
    labels = [p.label for p in residual_points(model)]
    assert labels == ["embedding", "layer 1 attention", "layer 1 cross-attention",
                      "layer 1 MLP", "layer 2 attention", "layer 2 cross-attention",
                      "layer 2 MLP"]
    assert residual_points(model)[1].name == "decoder.blocks.0.resid_attn"
    dec = make_model("decoder", n_layers=3)
    assert [p.name for p in residual_points(dec)][::2] == [
        "embed.sum", "blocks.0.resid_mlp", "blocks.1.resid_mlp", "blocks.2.resid_mlp"]


def _growing_model():
    """A pre-norm decoder whose residual stream grows ~30× in its last MLP, so that an
    early point normalised with the final point's statistics is squashed."""
    model = make_model("decoder", seed=4)
    with torch.no_grad():
        model.stack.blocks[-1].mlp.W_mlp2.weight.mul_(30.0)
        model.stack.blocks[-1].mlp.W_mlp2.bias.add_(3.0)
    return model


def test_each_point_uses_its_own_norm_statistics():
    model = _growing_model()
    x = ids(10)
    _, trace = record(model, x[None])
    norm = model.stack.final_norm
    W_u = model.unembed.W_u.weight
    last = trace["blocks.1.resid_mlp"][0]
    point = residual_points(model)[1]  # after layer 1's attention
    h = trace[point.name][0]
    own = torch.softmax(F.layer_norm(h, (32,), norm.gamma, norm.beta, norm.eps) @ W_u.T, -1)
    mu, var = last.mean(-1, keepdim=True), last.var(-1, unbiased=False, keepdim=True)
    reused = torch.softmax(((h - mu) / torch.sqrt(var + norm.eps) * norm.gamma + norm.beta)
                           @ W_u.T, -1)
    assert (own - reused).abs().max().item() > 0.05  # the fixture tells the two apart
    lens = logit_lens(model, x, trace=trace, top_k=3, targets=5)
    got = lens.top_probs[1]
    assert torch.allclose(got, own.topk(3, -1).values.detach(), atol=1e-5)
    assert not torch.allclose(got, reused.topk(3, -1).values.detach(), atol=1e-2)
    assert torch.allclose(lens.target_probs[1], own[:, 5].detach(), atol=1e-5)
    one = lens_distribution(model, x, point.label, 4, trace=trace)
    assert torch.allclose(one, own[4].detach(), atol=1e-5)


def test_targets_ranks_and_entropy_agree_with_the_full_logits(variant):
    _, model = variant
    x, z = inputs_for(model)
    lens = logit_lens(model, x, context=z, top_k=4)
    points, logits = lens_logits(model, x, context=z)
    assert [p.name for p in points] == [p.name for p in lens.points]
    probs = torch.softmax(logits, -1)
    tgt = lens.targets
    assert torch.equal(tgt, default_targets(model, torch.as_tensor(x)))
    for t in range(len(x)):
        if tgt[t] < 0:
            assert torch.isnan(lens.target_probs[:, t]).all()
            assert (lens.target_ranks[:, t] == -1).all()
            continue
        z_t = logits[:, t, tgt[t]]
        ranks = (logits[:, t] > z_t[:, None]).sum(-1)
        assert torch.equal(lens.target_ranks[:, t], ranks)
        assert torch.allclose(lens.target_probs[:, t], probs[:, t, tgt[t]], atol=1e-5)
    entropy = -(probs * torch.log(probs.clamp_min(1e-30))).sum(-1)
    assert torch.allclose(lens.entropy, entropy, atol=1e-4)
    assert (lens.entropy <= math.log(model.cfg.vocab_size) + 1e-4).all()
    assert (lens.top_probs[..., :-1] >= lens.top_probs[..., 1:]).all()
    assert ((lens.target_ranks == 0) == (lens.top_ids[..., 0] == tgt)).all()


def test_default_targets_are_next_tokens_for_decoders_and_tokens_for_encoders():
    x = torch.tensor([3, 1, 4, 1, 5])
    assert default_targets(make_model("decoder"), x).tolist() == [1, 4, 1, 5, -1]
    assert default_targets(make_model("encoder-decoder"), x).tolist() == [1, 4, 1, 5, -1]
    assert default_targets(make_model("encoder"), x).tolist() == [3, 1, 4, 1, 5]


def test_a_given_trace_is_used_and_a_stale_one_is_not():
    model = make_model("decoder")
    x, other = ids(8, seed=1), ids(8, seed=9)
    _, trace = record(model, x[None])
    _, stale = record(model, other[None])
    fresh = logit_lens(model, x)
    assert torch.equal(logit_lens(model, x, trace=trace).top_probs, fresh.top_probs)
    assert torch.equal(logit_lens(model, x, trace=stale).top_probs, fresh.top_probs)
    _, lean = record(model, x[None], lean=True)
    assert torch.equal(logit_lens(model, x, trace=lean).top_probs, fresh.top_probs)


def test_a_subset_of_points_and_one_target_for_all_positions():
    model = make_model("decoder")
    x = ids(6)
    full = logit_lens(model, x, targets=7)
    part = logit_lens(model, x, targets=7, points=["embedding", "blocks.1.resid_mlp"])
    assert [p.label for p in part.points] == ["embedding", "layer 2 MLP"]
    assert torch.equal(part.top_probs[1], full.top_probs[-1])
    assert torch.allclose(part.target_probs[0], full.target_probs[0])
    assert full.column(2)["ranks"].shape == (len(full.points),)


@pytest.mark.parametrize("call, message", [
    (lambda m: logit_lens(m, []), "empty"),
    (lambda m: logit_lens(m, [1, 99]), "outside the model's vocabulary"),
    (lambda m: logit_lens(m, [1, 2], targets=99), "not in the model's vocabulary"),
    (lambda m: logit_lens(m, [1, 2], points=["nowhere"]), "not a residual point"),
    (lambda m: logit_lens(m, list(range(30))), "ℓ_max"),
    (lambda m: lens_distribution(m, [1, 2], "embedding", 5), "out of range"),
    (lambda m: logit_lens(m, [1, 2], context=[3]), "context"),
])
def test_bad_requests_raise_a_clear_analysis_error(call, message):
    with pytest.raises(AnalysisError, match=message):
        call(make_model("decoder"))


def test_an_encoder_decoder_needs_its_context():
    with pytest.raises(AnalysisError, match="needs a context"):
        logit_lens(make_model("encoder-decoder"), [1, 2, 3])


def test_a_bfloat16_readout_is_close_and_keeps_the_exact_last_point():
    model = _growing_model()
    x = ids(10)
    exact = logit_lens(model, x, top_k=3)
    fast = logit_lens(model, x, top_k=3, readout_dtype="bfloat16")
    assert torch.equal(fast.top_probs[-1], exact.top_probs[-1])
    assert (fast.top_probs - exact.top_probs).abs().max().item() < 0.05
    assert (fast.entropy - exact.entropy).abs().max().item() < 0.1
    assert not torch.equal(fast.top_probs[:-1], exact.top_probs[:-1])  # it did use bf16
    with pytest.raises(AnalysisError, match="readout_dtype"):
        logit_lens(model, x, readout_dtype="float16")


def test_the_lens_at_some_positions_equals_those_columns_of_the_whole():
    from explorer.state import default_model

    model = default_model("decoder").model
    ids = list(range(1, 21))
    whole = logit_lens(model, ids)
    part = logit_lens(model, ids, positions=[12, 5, 6, 12])
    assert whole.complete and not part.complete
    assert part.computed.nonzero().reshape(-1).tolist() == [5, 6, 12]
    cols = [5, 6, 12]
    assert torch.equal(part.top_ids[:, cols], whole.top_ids[:, cols])
    assert torch.allclose(part.top_probs[:, cols], whole.top_probs[:, cols], atol=1e-6)
    assert torch.equal(part.target_ranks[:, cols], whole.target_ranks[:, cols])
    assert bool((part.top_ids[:, 0] == -1).all()) and bool(part.entropy[:, 0].isnan().all())
    with pytest.raises(AnalysisError):
        logit_lens(model, ids, positions=[20])
