"""Interventions: ablations, attention edits and patches through the hook points."""

from __future__ import annotations

import copy
import json

import pytest
import torch
from analysis_models import ids, inputs_for, make_model, model_args
from torch import nn

from explorer.analysis import AnalysisError, prepare
from explorer.analysis.intervening import (
    intervention_from_dict,
    interventions_from_list,
    interventions_to_list,
    record_intervened,
    run_intervened,
)
from explorer.analysis.interventions import (
    AblateAttention,
    AblateHead,
    AblateMLP,
    EditAttention,
    KnockOutKey,
    OneHotAttention,
    Patch,
)
from explorer.trace import record, record_edit
from explorer.trace.record import weights_key


class _NoAttention(nn.Module):
    """A layer's attention removed: X ← X + 0."""

    def forward(self, x, z, mask=None, past=None):
        return torch.zeros_like(x)


def _stack(model):
    return model.decoder if model.cfg.arch == "encoder-decoder" else model.stack


def _logits(model, x, z, interventions=()):
    inputs = prepare(model, x, z)
    return run_intervened(model, inputs, list(interventions))


def test_zero_ablating_every_head_of_a_layer_removes_its_attention(variant):
    _, model = variant
    x, z = inputs_for(model)
    blocks = _stack(model).blocks
    for layer in range(len(blocks)):
        heads = [AblateHead(layer, h) for h in range(blocks[layer].attn.n_heads)]
        ablated = _logits(model, x, z, heads)
        # what is left of the attention is its output bias b_o: a copy without W_o agrees
        no_w_o = copy.deepcopy(model)
        with torch.no_grad():
            _stack(no_w_o).blocks[layer].attn.W_o.weight.zero_()
        assert torch.equal(ablated, no_w_o(*model_args(model, x, z)))
    unbiased = make_model(model.cfg.arch, **{"out_bias": False})
    x, z = inputs_for(unbiased)
    removed = copy.deepcopy(unbiased)
    _stack(removed).blocks[1].attn = _NoAttention()
    heads = [AblateHead(1, h) for h in range(unbiased.cfg.n_heads)]
    expected = removed(*model_args(unbiased, x, z))
    assert torch.equal(_logits(unbiased, x, z, heads), expected)
    assert torch.equal(_logits(unbiased, x, z, [AblateAttention(1)]), expected)
    assert not torch.equal(_logits(unbiased, x, z), expected)  # the attention mattered


def test_ablations_put_zero_or_the_mean_in_the_trace():
    model = make_model("decoder")
    x = ids(9)[None]
    _, clean = record(model, x)
    reference = ids(6, seed=7)
    _, ref = record(model, reference[None])
    _, trace = record_intervened(model, x, interventions=[
        AblateHead(0, 1), AblateHead(0, 2, "mean"), AblateHead(0, 3, "mean",
                                                              tuple(reference.tolist())),
        AblateMLP(1, "mean")])
    y, y0 = trace["blocks.0.attn.head_out"][0], clean["blocks.0.attn.head_out"][0]
    assert torch.equal(y[1], torch.zeros_like(y[1]))
    torch.testing.assert_close(y[2], y0[2].mean(0, keepdim=True).expand_as(y0[2]))
    ref_mean = ref["blocks.0.attn.head_out"][0, 3].mean(0, keepdim=True)
    torch.testing.assert_close(y[3], ref_mean.expand_as(y[3]))
    assert torch.equal(y[0], y0[0])  # other heads as computed
    mlp = trace["blocks.1.mlp.out"][0]
    assert torch.allclose(mlp, mlp[:1].expand_as(mlp))  # one value at every position
    assert trace.interventions[0] == AblateHead(0, 1)


def test_an_edited_column_sums_to_one_when_renormalised():
    model = make_model("decoder")
    x = ids(9)[None]
    _, clean = record(model, x)
    a0 = clean["blocks.1.attn.pattern"][0, 2, 6]  # query 6 of head 2 over the keys
    _, trace = record_intervened(model, x, interventions=[EditAttention(1, 2, 6, 1, 0.6)])
    a = trace["blocks.1.attn.pattern"][0, 2, 6]
    assert a[1].item() == pytest.approx(0.6)
    assert a.sum().item() == pytest.approx(1.0, abs=1e-6)
    others = [k for k in range(9) if k != 1]
    ratio = a[others][:6] / a0[others][:6]  # keys 0, 2 … 6
    torch.testing.assert_close(ratio, ratio[:1].expand_as(ratio))  # rescaled alike
    assert torch.equal(a[7:], torch.zeros(2))  # still causal
    _, raw = record_intervened(model, x, interventions=[
        EditAttention(1, 2, 6, 1, 0.6, renormalise=False)])
    b = raw["blocks.1.attn.pattern"][0, 2, 6]
    assert torch.equal(b[others], a0[others]) and b[1].item() == pytest.approx(0.6)
    assert abs(b.sum().item() - 1.0) > 1e-3
    _, hot = record_intervened(model, x, interventions=[OneHotAttention(0, 1, 7, 2)])
    row = hot["blocks.0.attn.pattern"][0, 1, 7]
    assert torch.equal(row, torch.nn.functional.one_hot(torch.tensor(2), 9).float())


def test_knocking_out_a_key_hides_it_from_every_query_of_the_layer():
    model = make_model("decoder")
    x = ids(9)[None]
    _, trace = record_intervened(model, x, interventions=[KnockOutKey(1, 3)])
    a = trace["blocks.1.attn.pattern"][0]  # (H, l_x, l_z)
    assert torch.equal(a[..., 3], torch.zeros_like(a[..., 3]))
    sums = a.sum(-1)
    torch.testing.assert_close(sums, torch.ones_like(sums))
    _, clean = record(model, x)
    assert torch.equal(trace["blocks.0.attn.pattern"], clean["blocks.0.attn.pattern"])


def test_interventions_on_one_step_compose_in_order():
    model = make_model("decoder")
    x = ids(9)[None]
    edit, knock = EditAttention(1, 0, 5, 2, 0.7), KnockOutKey(1, 3)
    _, both = record_intervened(model, x, interventions=[edit, knock])
    _, first = record_intervened(model, x, interventions=[edit])
    row = first["blocks.1.attn.pattern"][0, 0, 5].clone()
    row[3] = 0
    torch.testing.assert_close(both["blocks.1.attn.pattern"][0, 0, 5], row / row.sum())


@pytest.mark.parametrize("site", ["resid", "attn_out", "mlp_out", "head_out", "pattern"])
def test_patching_keeps_the_decoder_causal(site):
    model = make_model("decoder")
    clean, corrupted = ids(9, seed=1), ids(9, seed=2)
    base = _logits(model, corrupted, None)
    source = tuple(clean.tolist())
    for t in range(9):
        head = 1 if site in ("head_out", "pattern") else None
        out = _logits(model, corrupted, None, [Patch(site, 1, source, (t,), head)])
        assert torch.equal(out[0, :t], base[0, :t]), f"position {t} changed an earlier one"
        if site != "pattern" or t > 0:  # query 0's pattern is [1] in both runs
            assert not torch.equal(out[0, t:], base[0, t:])


def test_a_patched_trace_holds_the_second_inputs_values():
    model = make_model("decoder")
    clean, corrupted = ids(9, seed=1), ids(9, seed=2)
    _, source = record(model, clean[None])
    patch = Patch("pattern", 0, tuple(clean.tolist()), (4, 6), head=3)
    _, trace = record_intervened(model, corrupted[None], interventions=[patch])
    a = trace["blocks.0.attn.pattern"][0, 3]
    assert torch.equal(a[[4, 6]], source["blocks.0.attn.pattern"][0, 3, [4, 6]])
    _, whole = record_intervened(model, corrupted[None], interventions=[
        Patch("resid", 1, tuple(clean.tolist()))])
    assert torch.equal(whole["logits"], source["logits"])  # the whole stream: the clean run


def test_weights_are_untouched_and_a_clean_run_is_bit_identical_after():
    model = make_model("decoder")
    x = ids(9)[None]
    before_logits = model(x)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    key = weights_key(model)
    every = [AblateHead(0, 1, "mean"), AblateMLP(1), AblateAttention(0, "mean"),
             EditAttention(1, 2, 6, 1, 0.3), OneHotAttention(0, 0, 5, 5), KnockOutKey(1, 2),
             Patch("resid", 1, tuple(ids(9, seed=4).tolist()), (2,)),
             Patch("head_out", 0, tuple(ids(9, seed=4).tolist()), head=2)]
    logits, trace = record_intervened(model, x, interventions=every, lean=True)
    assert not torch.equal(logits, before_logits)
    assert weights_key(model) == key
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert all(p.fn is None for p in model.hook_points().values())
    assert torch.equal(model(x), before_logits)
    assert torch.equal(record(model, x)[0], before_logits)
    # an intervened trace is never continued: an edit records the model's own run in full
    longer = torch.cat([x, ids(2, seed=9)[None]], dim=1)
    spliced, again = record_edit(model, longer, previous=trace, lean=True)
    assert again.first_new == 0 and again.interventions == ()
    assert torch.equal(spliced, record(model, longer)[0])


def test_interventions_round_trip_through_json():
    every = [AblateHead(0, 1, "mean", (3, 4, 5)), AblateMLP(1), AblateAttention(0, "mean"),
             EditAttention(1, 2, 6, 1, 0.25, False), OneHotAttention(0, 0, 5, 5),
             KnockOutKey(1, 2), Patch("head_out", 1, (1, 2, 3), (0, 2), 3, None, "decoder")]
    text = json.dumps(interventions_to_list(every))
    assert interventions_from_list(json.loads(text)) == every


@pytest.mark.parametrize(("data", "fragment"), [
    ({"kind": "melt", "layer": 0}, "unknown intervention kind 'melt'"),
    ({"layer": 0}, "with a 'kind'"),
    ({"kind": "ablate_head", "layer": 0}, "ablate_head needs"),
    ({"kind": "ablate_head", "layer": 0, "head": 1, "colour": 2}, "no field colour"),
    ({"kind": "ablate_mlp", "layer": 0, "mode": "random"}, "mode 'random'"),
    ({"kind": "patch", "site": "resid", "layer": 0, "source": ["a"]}, "list of whole"),
])
def test_bad_intervention_dicts_say_what_is_wrong(data, fragment):
    with pytest.raises(AnalysisError, match=fragment):
        intervention_from_dict(data)


@pytest.mark.parametrize(("intervention", "fragment"), [
    (AblateHead(0, 4), "head 4 does not exist: there are 4"),
    (AblateHead(2, 0), "layer 2 does not exist"),
    (AblateMLP(-1), "layer -1 does not exist"),
    (EditAttention(0, 0, 3, 5, 0.5), "query 3 cannot attend to key 5"),
    (EditAttention(0, 0, 5, 3, 1.5), "between 0 and 1"),
    (OneHotAttention(0, 0, 9, 0), "query position 9 does not exist"),
    (KnockOutKey(0, 12), "key position 12"),
    (Patch("resid", 0, (1, 2, 3)), "the second input has 3 tokens and the first 9"),
    (Patch("head_out", 0, tuple(range(9))), "needs the head"),
    (Patch("logits", 0, tuple(range(9))), "site 'logits'"),
    (Patch("resid", 0, tuple(range(9)), (11,)), "position 11"),
])
def test_impossible_interventions_are_one_sentence_errors(intervention, fragment):
    model = make_model("decoder")
    with pytest.raises(AnalysisError, match=fragment) as info:
        _logits(model, ids(9), None, [intervention])
    assert "\n" not in str(info.value)
    assert all(p.fn is None for p in model.hook_points().values())


def test_encoder_decoder_interventions_name_their_stack():
    model = make_model("encoder-decoder")
    x, z = inputs_for(model)
    base = _logits(model, x, z)
    enc = _logits(model, x, z, [AblateHead(0, 1, stack="encoder")])
    dec = _logits(model, x, z, [AblateHead(0, 1)])
    assert not torch.equal(enc, base) and not torch.equal(dec, base)
    assert not torch.equal(enc, dec)
    with pytest.raises(AnalysisError, match="not 'encoder' or 'decoder'"):
        _logits(model, x, z, [AblateHead(0, 1, stack="middle")])
    with pytest.raises(AnalysisError, match="one stack"):
        _logits(make_model("decoder"), ids(9), None, [AblateHead(0, 1, stack="encoder")])


@pytest.mark.parametrize(("negative", "positive"), [
    (OneHotAttention(1, 0, -1, -3), OneHotAttention(1, 0, 8, 6)),
    (EditAttention(0, 1, -2, 2, 0.5), EditAttention(0, 1, 7, 2, 0.5)),
    (KnockOutKey(0, -9), KnockOutKey(0, 0)),
    (Patch("resid", 1, tuple(range(9)), (-1, -4)), Patch("resid", 1, tuple(range(9)), (8, 5))),
])
def test_negative_positions_count_from_the_end_as_in_python(negative, positive):
    model, x = make_model("decoder"), ids(9)
    torch.testing.assert_close(_logits(model, x, None, [negative]),
                               _logits(model, x, None, [positive]), rtol=0, atol=0)


def test_a_negative_key_after_its_query_is_still_refused():
    with pytest.raises(AnalysisError, match="cannot attend to key"):
        _logits(make_model("decoder"), ids(9), None, [OneHotAttention(0, 0, 2, -1)])
