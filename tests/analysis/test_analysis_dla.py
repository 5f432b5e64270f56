"""Direct logit attribution: parts + remainder equal the real logit (difference) for pre-
and post-norm, layer norm and RMSnorm, every architecture; a head's part is W_o^h Y^h."""

from __future__ import annotations

import pytest
import torch
from analysis_models import ids, inputs_for, make_model, model_args

from explorer.analysis import AnalysisError, direct_logit_attribution
from explorer.trace import record


@pytest.mark.parametrize("centre", [True, False])
def test_parts_and_remainder_add_up_to_the_real_logit_difference(variant, centre):
    name, model = variant
    x, z = inputs_for(model)
    if model.cfg.final_head:
        with pytest.raises(AnalysisError, match="not linear"):
            direct_logit_attribution(model, x, 3, 5, context=z)
        return
    with torch.no_grad():
        logits = model(*model_args(model, x, z))[0]
    for position, target, other in ((0, 5, None), (4, 5, 11), (len(x) - 1, 30, 2)):
        dla = direct_logit_attribution(model, x, position, target, other, context=z,
                                       centre_parts=centre)
        real = logits[position, target] - (0 if other is None else logits[position, other])
        assert abs(dla.logit - float(real)) < 1e-6
        assert abs(dla.total - float(real)) < 1e-5, name
        assert abs(dla.remainder) > 0 or model.cfg.norm == "rms"


def test_the_parts_of_a_decoder():
    model = make_model("decoder", n_layers=2)
    dla = direct_logit_attribution(model, ids(7), 6, 3)
    kinds = [p.kind for p in dla.parts]
    assert kinds == ["token", "position"] + (["head"] * 4 + ["attn_bias", "mlp"]) * 2
    assert dla.parts[2].label == "L1 H1" and dla.parts[-1].label == "L2 MLP"
    grid = dla.grid()
    assert grid.shape == (2, 4) and not torch.isnan(grid).any()
    assert dla.per_layer("mlp").shape == (2,)
    assert dla.value("token") == float(dla.values[0])


def test_a_head_part_is_its_output_through_the_final_norm():
    """Pre-norm: head h of layer 1 contributes ⟨W_u[t], (v − mean v) γ/σ⟩ with
    v = W_o[:, h] Y^h and σ the final residual's own standard deviation."""
    model = make_model("decoder", n_layers=2)
    x = ids(8)
    _, trace = record(model, x[None])
    t, target, h = 5, 9, 2
    y = trace["blocks.0.attn.head_out"][0, h, t]
    d_mid = model.cfg.d_mid
    v = model.stack.blocks[0].attn.W_o.weight[:, h * d_mid:(h + 1) * d_mid] @ y
    final = trace["blocks.1.resid_mlp"][0, t]
    norm = model.stack.final_norm
    sigma = torch.sqrt(final.var(unbiased=False) + norm.eps)
    expected = model.unembed.W_u.weight[target] @ ((v - v.mean()) * norm.gamma / sigma)
    dla = direct_logit_attribution(model, x, t, target, trace=trace)
    assert abs(float(dla.grid()[0, h]) - float(expected.detach())) < 1e-5


def test_encoder_decoder_has_cross_attention_heads():
    model = make_model("encoder-decoder")
    x, z = inputs_for(model)
    dla = direct_logit_attribution(model, x, 2, 4, context=z)
    assert not torch.isnan(dla.grid("cross_head")).any()
    assert not torch.isnan(dla.per_layer("cross_bias")).any()


def test_token_types_and_embedding_norm_are_parts_of_an_encoder():
    model = make_model("encoder", final_head=False, embed_norm=True, n_token_types=2)
    dla = direct_logit_attribution(model, ids(6), 1, 4)
    assert dla.value("token_type") is not None


@pytest.mark.parametrize("position, target, other, message", [
    (9, 1, None, "out of range"),
    (-10, 1, None, "out of range"),
    (0, 37, None, "not in the model's vocabulary"),
    (0, 1, -2, "not in the model's vocabulary"),
])
def test_bad_requests(position, target, other, message):
    with pytest.raises(AnalysisError, match=message):
        direct_logit_attribution(make_model("decoder"), ids(9), position, target, other)


def test_parts_name_their_trace_steps():
    model = make_model("encoder-decoder")
    x, z = inputs_for(model)
    dla = direct_logit_attribution(model, x, 1, 4, context=z)
    steps = {p.label: p.step for p in dla.parts}
    assert steps["token embedding"] == "decoder.embed.token"
    assert steps["L2 H3"] == "decoder.blocks.1.attn"
    assert steps["L1 cross H1"] == "decoder.blocks.0.cross_attn"
    assert steps["L2 MLP"] == "decoder.blocks.1.mlp.out"
    _, trace = record(model, torch.as_tensor(z)[None], torch.as_tensor(x)[None])
    assert all(p.step + ".pattern" in trace for p in dla.parts if p.head is not None)


def test_a_negative_position_counts_from_the_end_as_in_python():
    model, x = make_model("decoder"), ids(9)
    last = direct_logit_attribution(model, x, -1, 1)
    assert last.position == 8
    torch.testing.assert_close(last.values, direct_logit_attribution(model, x, 8, 1).values)
