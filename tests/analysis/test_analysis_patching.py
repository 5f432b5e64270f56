"""Activation patching sweeps and head importance: the metric, batching, errors."""

from __future__ import annotations

import pytest
import torch
from analysis_models import ids, make_model

from explorer.analysis import (
    AblateHead,
    AnalysisError,
    Patch,
    SweepCancelled,
    activation_patching,
    head_importance,
    intervention_effect,
    patching_metric,
    prepare,
    run_intervened,
    token_loss,
)

CLEAN, CORRUPTED = ids(9, seed=1), ids(9, seed=2)
TARGET, OTHER = 3, 5

MODELS = {
    "decoder-pre-layer": ("decoder", {}),
    "decoder-post-rms": ("decoder", {"norm_placement": "post", "norm": "rms"}),
    "decoder-embed-norm": ("decoder", {"embed_norm": True, "n_heads": 2}),
    "encoder-mlm-head": ("encoder", {}),
}


@pytest.fixture(params=sorted(MODELS))
def model(request):
    arch, changes = MODELS[request.param]
    return make_model(arch, **changes)


def test_whole_residual_patch_at_the_first_layer_gives_one_and_self_patch_zero(model):
    clean, corrupted = tuple(CLEAN.tolist()), tuple(CORRUPTED.tolist())
    full = patching_metric(model, CLEAN, CORRUPTED, TARGET, OTHER,
                           [Patch("resid", 0, clean)])
    assert full == 1.0
    assert patching_metric(model, CLEAN, CORRUPTED, TARGET, OTHER,
                           [Patch("resid", 0, corrupted)]) == 0.0
    assert patching_metric(model, CLEAN, CORRUPTED, TARGET, OTHER, []) == 0.0


def test_the_sweeps_metric_is_the_normalised_logit_difference(model):
    out = activation_patching(model, CLEAN, CORRUPTED, TARGET, OTHER, ["resid"])["resid"]
    with torch.no_grad():
        clean = model(CLEAN[None])[0, -1]
        corrupted = model(CORRUPTED[None])[0, -1]
    assert out.clean_diff == pytest.approx(float(clean[TARGET] - clean[OTHER]), abs=1e-5)
    assert out.corrupted_diff == pytest.approx(float(corrupted[TARGET] - corrupted[OTHER]),
                                               abs=1e-5)
    assert out.values.shape == (model.cfg.n_layers, 9)
    source = tuple(CLEAN.tolist())
    one = patching_metric(model, CLEAN, CORRUPTED, TARGET, OTHER,
                          [Patch("resid", 1, source, (4,))])
    assert float(out.values[1, 4]) == pytest.approx(one, abs=2e-5)  # float32 rounding
    if model.cfg.arch == "decoder":  # the last position's stream at layer 0 is its input
        assert float(out.values[0, 8]) == pytest.approx(
            patching_metric(model, CLEAN, CORRUPTED, TARGET, OTHER,
                            [Patch("resid", 0, source, (8,))]), abs=2e-5)


@pytest.mark.parametrize(("dtype", "tolerance"), [(torch.float64, 1e-6),
                                                  (torch.float32, 5e-5)])
def test_the_batched_sweep_equals_one_run_at_a_time(model, dtype, tolerance):
    """Equal to 1e-6 where float rounding is out of the way (float64); in float32 the
    batched runs add their terms in another order (a few units of 1e-6 in the logits, up to
    ~3e-5 in the normalised metric, which divides by the clean-corrupted gap)."""
    model = model.to(dtype)
    one = activation_patching(model, CLEAN, CORRUPTED, TARGET, OTHER, batched=False)
    batched = activation_patching(model, CLEAN, CORRUPTED, TARGET, OTHER)
    few = activation_patching(model, CLEAN, CORRUPTED, TARGET, OTHER, max_rows=4)
    for site, result in one.items():
        assert result.values.shape == batched[site].values.shape
        torch.testing.assert_close(batched[site].values, result.values, atol=tolerance,
                                   rtol=0)
        torch.testing.assert_close(few[site].values, result.values, atol=tolerance, rtol=0)
    heads = one["head_out"].values
    assert heads.shape == (model.cfg.n_layers, model.cfg.n_heads)
    assert heads.abs().max() > 0.01  # the sweep is not all zeros


def test_head_importance_batched_equals_one_at_a_time_and_the_loss():
    model = make_model("decoder")
    for mode in ("zero", "mean"):  # the same runs batched: equal to float rounding
        one = head_importance(model, CLEAN, mode=mode, batched=False)
        batched = head_importance(model, CLEAN, mode=mode, max_rows=3)
        torch.testing.assert_close(batched.losses, one.losses, atol=1e-6, rtol=0)
        assert batched.base_loss == pytest.approx(token_loss(model, CLEAN).mean, abs=1e-6)
        inputs = prepare(model, CLEAN)
        logits = run_intervened(model, inputs, [AblateHead(1, 2, mode)])
        ablated = torch.nn.functional.cross_entropy(logits[0, :-1], CLEAN[1:])
        assert float(batched.losses[1, 2]) == pytest.approx(float(ablated), abs=1e-5)
        assert batched.delta.shape == (2, 4) and batched.delta.abs().max() > 0


def test_head_importance_of_an_encoder_decoder_ablates_its_decoder_heads():
    model = make_model("encoder-decoder")
    x, z = ids(6, seed=2), ids(8, seed=3)
    one = head_importance(model, x, context=z, batched=False)
    batched = head_importance(model, x, context=z)
    torch.testing.assert_close(batched.losses, one.losses, atol=1e-6, rtol=0)


def test_sweeps_report_progress_and_stop_when_cancelled(model):
    seen = []
    activation_patching(model, CLEAN, CORRUPTED, TARGET, OTHER, ["resid", "head_out"],
                        max_rows=5, progress=lambda done, total: seen.append((done, total)))
    total = model.cfg.n_layers * (9 + model.cfg.n_heads)
    assert seen[0] == (0, total) and seen[-1] == (total, total)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and len(seen) > 3
    calls = []

    def cancelled():
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(SweepCancelled):
        activation_patching(model, CLEAN, CORRUPTED, TARGET, OTHER, max_rows=2,
                            cancelled=cancelled)
    with pytest.raises(SweepCancelled):
        head_importance(make_model("decoder"), CLEAN, batched=False, cancelled=cancelled)
    assert all(p.fn is None for p in model.hook_points().values())


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"corrupted": ids(7, seed=2)}, "the clean text has 9 tokens and the corrupted one 7"),
    ({"target": 37}, "target token id 37 is not in the model's vocabulary"),
    ({"other": -1}, "other token id -1"),
    ({"other": TARGET}, "the same"),
    ({"corrupted": CLEAN}, "same logit difference"),
    ({"sites": ["everything"]}, "site 'everything'"),
    ({"clean": []}, "empty"),
])
def test_bad_sweep_requests_are_one_sentence_errors(kwargs, fragment):
    args = {"clean": CLEAN, "corrupted": CORRUPTED, "target": TARGET, "other": OTHER}
    args |= kwargs
    with pytest.raises(AnalysisError, match=fragment) as info:
        activation_patching(make_model("decoder"), **args)
    assert "\n" not in str(info.value)


def test_models_without_sweeps_say_so():
    with pytest.raises(AnalysisError, match="decoder- or encoder-only"):
        activation_patching(make_model("encoder-decoder"), CLEAN, CORRUPTED, TARGET, OTHER)
    with pytest.raises(AnalysisError, match="classifier"):
        activation_patching(make_model("encoder", n_classes=2), CLEAN, CORRUPTED, TARGET,
                            OTHER)
    with pytest.raises(AnalysisError, match="next-token loss"):
        head_importance(make_model("encoder"), CLEAN)
    with pytest.raises(AnalysisError, match="mode 'half'"):
        head_importance(make_model("decoder"), CLEAN, mode="half")
    with pytest.raises(AnalysisError, match="at least two tokens"):
        head_importance(make_model("decoder"), CLEAN[:1])


def test_the_effect_compares_the_clean_and_intervened_outputs():
    model = make_model("decoder")
    inputs = prepare(model, CLEAN)
    clean = run_intervened(model, inputs, [])
    same = intervention_effect(clean, clean)
    assert (same.delta_p, same.kl, same.top_changed) == (0.0, 0.0, False)
    ablated = run_intervened(model, inputs, [AblateHead(1, h) for h in range(4)] +
                             [AblateHead(0, h) for h in range(4)])
    effect = intervention_effect(clean, ablated, position=4, target=7)
    p = torch.softmax(clean[0, 4].double(), -1)
    q = torch.softmax(ablated[0, 4].double(), -1)
    assert effect.delta_p == pytest.approx(float(q[7] - p[7]), abs=1e-6)
    assert effect.kl == pytest.approx(float((p * (p.log() - q.log())).sum()), abs=1e-5)
    assert effect.top_changed == (int(p.argmax()) != int(q.argmax()))
    assert intervention_effect(clean, ablated).target == int(clean[0, -1].argmax())
    with pytest.raises(AnalysisError, match="position 9 is out of range"):
        intervention_effect(clean, ablated, position=9)
    with pytest.raises(AnalysisError, match="id 99"):
        intervention_effect(clean, ablated, target=99)


@pytest.mark.parametrize("changes", [{"n_kv_heads": 2, "activation": "swiglu"},
                                     {"positions": "rotary", "norm": "rms"}])
def test_batching_holds_for_grouped_query_and_rotary_decoders(changes):
    """Grouped-query keys continue per query head; rotary positions run every position."""
    model = make_model("decoder", **changes).double()
    sites = ["resid", "attn_out", "head_out"]
    one = activation_patching(model, CLEAN, CORRUPTED, TARGET, OTHER, sites, batched=False)
    batched = activation_patching(model, CLEAN, CORRUPTED, TARGET, OTHER, sites)
    for site in sites:
        torch.testing.assert_close(batched[site].values, one[site].values, atol=1e-6, rtol=0)


def test_one_site_may_be_named_by_a_string():
    model = make_model("decoder")
    one = activation_patching(model, CLEAN, CORRUPTED, TARGET, OTHER, sites="resid")
    assert set(one) == {"resid"}
    listed = activation_patching(model, CLEAN, CORRUPTED, TARGET, OTHER, sites=["resid"])
    torch.testing.assert_close(one["resid"].values, listed["resid"].values)


def test_a_small_logit_difference_gap_warns_that_the_metric_is_noise():
    from explorer.analysis.patching import WEAK_FRACTION, weak_difference

    model = make_model("decoder")
    result = activation_patching(model, CLEAN, CORRUPTED, TARGET, OTHER, sites="resid")["resid"]
    with torch.no_grad():
        logits = model(torch.as_tensor(CLEAN)[None])[0, -1].double()
    assert result.logit_std == pytest.approx(float(logits.std()), rel=1e-5)
    gap = abs(result.clean_diff - result.corrupted_diff)
    assert (result.weak_difference is None) == (gap >= WEAK_FRACTION * result.logit_std)
    # the rule: under 5 % of the clean logits' standard deviation is noise
    assert weak_difference(1.0, 1.04, 1.0) is not None  # 0.04 < 0.05
    assert "noise" in weak_difference(1.0, 1.04, 1.0)
    assert weak_difference(1.0, 1.06, 1.0) is None
    assert weak_difference(2.0, -1.0, 10.0) is None
    assert weak_difference(0.0, 0.4, 10.0) is not None


def test_a_sweep_is_reused_until_a_weight_changes(model):
    """The Interventions dock's sweep is the Circuit tab's exact patching: the same model,
    weights and arguments give the same results without running again; a weight changed in
    place (training) runs it again, and ``remember=False`` always runs."""
    first = activation_patching(model, CLEAN, CORRUPTED, TARGET, OTHER)
    again = activation_patching(model, CLEAN, CORRUPTED, TARGET, OTHER)
    assert all(again[s] is first[s] for s in first)
    assert activation_patching(model, CLEAN, CORRUPTED, TARGET, OTHER,
                               remember=False)["resid"] is not first["resid"]
    assert activation_patching(model, CLEAN, CORRUPTED, OTHER, TARGET)["resid"] \
        is not first["resid"]
    with torch.no_grad():
        next(model.parameters()).mul_(1.0)  # same values, a new version: new weights
    changed = activation_patching(model, CLEAN, CORRUPTED, TARGET, OTHER)
    assert changed["resid"] is not first["resid"]
    torch.testing.assert_close(changed["resid"].values, first["resid"].values)
