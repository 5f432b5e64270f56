"""The pseudocode diff of Algorithms 8, 9 and 10 (issue 30 §2)."""

from __future__ import annotations

import pytest

from explorer.core.config import ModelConfig
from explorer.state.pseudocode_diff import canonical, pseudocode_diff

# The rows where two of the paper's algorithms (as written) differ: 10 = decoder-only,
# 9 = encoder-only, 8 = encoder-decoder (its decoder half).
DIFFERING = {
    (0, 1): {"norm_attn_pre", "self_attn", "norm_attn_post", "norm_mlp_pre", "mlp",
             "norm_mlp_post", "head", "output"},
    (0, 2): {"norm_attn_pre", "self_attn", "norm_attn_post", "cross_attn", "norm_cross",
             "norm_mlp_pre", "mlp", "norm_mlp_post", "final_norm"},
    (1, 2): {"self_attn", "cross_attn", "norm_cross", "mlp", "head", "final_norm", "output"},
}


@pytest.mark.parametrize("pair", sorted(DIFFERING))
def test_the_diff_marks_exactly_the_lines_that_differ_between_each_pair(pair):
    rows = pseudocode_diff([10, 9, 8])
    assert {r.key for r in rows if r.differs_between(*pair)} == DIFFERING[pair]
    assert {r.key for r in rows if r.differs} == set().union(*DIFFERING.values())


def test_what_differs_is_the_mask_cross_attention_head_activation_and_output():
    rows = {r.key: r for r in pseudocode_diff([10, 9, 8])}
    masks = [c.text for c in rows["self_attn"].cells]
    assert "[t ≤ t′]" in masks[0] and "Mask ≡ 1" in masks[1] and "[t ≤ t′]" in masks[2]
    assert [c.line for c in rows["cross_attn"].cells] == [None, None, 16]
    assert "GELU" in rows["mlp"].cells[1].text and "ReLU" in rows["mlp"].cells[2].text
    assert [c.line for c in rows["head"].cells] == [None, 10, None]
    assert "x[t+1]" in rows["output"].cells[0].text and "x[t]" in rows["output"].cells[1].text
    # The encoder half of Algorithm 8 is Algorithm 9's layers (but ReLU, no head).
    enc = {r.key: r for r in pseudocode_diff([9, 8], half="encoder")}
    assert not enc["self_attn"].differs and enc["mlp"].differs
    assert canonical("Z ← [e_1, e_2, …, e_ℓz]") == "X ← [e_1, e_2, …, e_ℓ]"


def test_each_models_differences_are_folded_in():
    cfg = ModelConfig(arch="decoder", vocab_size=20, d_e=16, n_heads=2, n_layers=1,
                      l_max=8, positions="rotary", activation="swiglu", norm="rms")
    rows = {r.key: r for r in pseudocode_diff([10, 9], [cfg, None])}
    mlp = rows["mlp"].cells[0]
    assert mlp.kind == "extension" and "SiLU" in mlp.text and "not in the paper" in mlp.note
    assert rows["embed"].cells[0].kind == "extension" and rows["embed"].differs
    assert "rms_norm" in rows["final_norm"].cells[0].text and rows["final_norm"].differs
    post = ModelConfig(arch="decoder", vocab_size=20, d_e=16, n_heads=2, n_layers=1,
                       l_max=8, norm_placement="post")
    rows = {r.key: r for r in pseudocode_diff([10, 9], [post, None])}
    assert rows["norm_attn_post"].cells[0].line == 5  # its norm now comes after
    assert "norm_attn_pre" not in rows  # no model here norms before its attention
