"""Llama-style extensions in the trace and the pseudocode: extra steps in execution
order, each saying "not in the paper", and the Paper panel's marked lines."""

from __future__ import annotations

import torch

from explorer.core import ModelConfig, build_model
from explorer.trace import ALGORITHMS, record
from explorer.trace.pseudocode import differences


def _llama(**kw):
    sizes = dict(arch="decoder", vocab_size=23, l_max=16, d_e=24, n_heads=6, n_kv_heads=2,
                 n_layers=2, d_mlp=40, norm="rms", positions="rotary", activation="swiglu",
                 bias=False)
    sizes.update(kw)
    return ModelConfig(**sizes)


def test_llama_style_step_names_in_execution_order():
    torch.manual_seed(0)
    _, trace = record(build_model(_llama()), torch.randint(0, 23, (1, 5)))
    layer = [n[len("blocks.0."):] for n in trace if n.startswith("blocks.0.")]
    assert layer == ["attn_norm", "attn.q_pre", "attn.k_pre", "attn.v", "attn.q", "attn.k",
                     "attn.scores", "attn.masked_scores", "attn.pattern", "attn.head_out",
                     "attn.stacked", "attn.out", "resid_attn", "mlp_norm", "mlp.hidden_pre",
                     "mlp.hidden", "mlp.up", "mlp.gated", "mlp.out", "resid_mlp"]
    assert "embed.position" not in trace  # no W_p with rotary positions
    for step in trace.steps:
        assert 1 <= step.line <= len(ALGORITHMS[step.algorithm].lines), step
        assert ("not in the paper" in step.formula) is (step.extension is not None)
    extended = {s.name.replace("blocks.1.", "blocks.0.").replace("blocks.0.", "")
                for s in trace.steps if s.extension}
    assert {"attn.q", "attn.k", "attn.k_pre", "attn.v", "mlp.up", "mlp.gated",
            "mlp.out", "embed.sum"} <= extended
    assert "attn.pattern" not in extended  # the paper's own steps are not marked


def test_every_hook_point_of_an_extended_model_is_described():
    model = build_model(_llama(qkv_bias=True))
    _, trace = record(model, torch.randint(0, 23, (1, 3)))
    assert len(trace.steps) == len(trace)


def test_differences_mark_the_lines_a_model_changes():
    notes = differences(_llama())
    assert notes[(10, 2)].extension == "rotary positions, Su et al. 2021"
    assert notes[(10, 2)].label == "not in the paper: rotary positions, Su et al. 2021"
    assert "SiLU" in notes[(10, 8)].text and "SwiGLU" in notes[(10, 8)].extension
    assert notes[(10, 5)].extension is None and "rms_norm" in notes[(10, 5)].text  # variant
    assert "share 2 key/value heads" in notes[(10, 6)].text
    assert (4, 1) in notes and (4, 2) in notes and (5, 1) in notes
    assert all(1 <= line <= len(ALGORITHMS[alg].lines) for alg, line in notes)


def test_the_paper_as_written_has_no_marked_lines():
    for arch in ("decoder", "encoder", "encoder-decoder"):
        assert differences(ModelConfig(arch=arch, vocab_size=10, l_max=8)) == {}


def test_known_variants_are_marked_but_not_as_extensions():
    opt_350m = ModelConfig(arch="decoder", vocab_size=10, l_max=8, norm_placement="post",
                           activation="relu")
    notes = differences(opt_350m)
    assert "after the sub-block" in notes[(10, 5)].text and "ReLU" in notes[(10, 8)].text
    assert "skipped" in notes[(10, 10)].text
    assert all(n.extension is None for n in notes.values())
    bart = ModelConfig(arch="encoder-decoder", vocab_size=10, l_max=8, d_e=24, n_heads=4,
                       n_dec_heads=2, activation="gelu", embed_norm=True)
    notes = differences(bart)
    assert {(8, 2), (8, 11), (8, 7), (8, 18)} <= set(notes)
