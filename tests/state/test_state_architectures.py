"""Architectures side by side (issue 30): the columns step in sync by the paper's line."""

from __future__ import annotations

import pytest

from explorer.state.architectures import (
    ROWS,
    SideBySide,
    apply_options,
    default_models,
    models_from_options,
    scene_options,
)
from explorer.state.scene import Scene

TEXT = "the king sings ."


@pytest.fixture(scope="module")
def sync():
    return SideBySide(default_models(), TEXT)


def _on_line(column) -> bool:
    step = column.session.step
    alg, line = column.algorithm, column.line
    return (step.algorithm, step.line) == (alg, line) or step.outer == (alg, line)


@pytest.mark.parametrize("half", ["decoder", "encoder"])
def test_stepping_lands_each_column_on_its_own_line_or_says_it_has_none(sync, half):
    sync.set_half(half)
    sync.set_row(0)
    assert [c.algorithm for c in sync.columns] == [10, 9, 8]
    for i, row in enumerate(ROWS):
        sync.set_row(i)
        for column in sync.columns:
            wanted = row.line(column.algorithm, half, column.session.cfg.norm_placement)
            assert column.line == wanted, (row.key, column.algorithm)
            if wanted is None:
                assert "no line" in column.note and row.label in column.note
            else:
                assert _on_line(column), (row.key, column.algorithm, column.session.step.name)
                if column.algorithm == 8:
                    assert column.session.step.stack in (half, None)


def test_stepping_passes_over_rows_no_model_has(sync):
    sync.set_half("decoder")
    sync.set_row(0)
    visited = [sync.current.key]
    for _ in range(len(ROWS)):
        sync.step_by(1)
        visited.append(sync.current.key)
    assert visited[-1] == visited[-2] == "output"  # the last row stays
    # The bundled encoder and encoder-decoder are pre-norm, as the decoder: no post-norm
    # line in any column, so → never stops there.
    assert all(c.session.cfg.norm_placement == "pre" for c in sync.columns)
    assert "norm_attn_post" not in visited and "norm_mlp_post" not in visited
    assert visited[:6] == ["ids", "embed", "norm_attn_pre", "self_attn", "cross_attn",
                           "norm_cross"]
    sync.step_by(-1)
    assert sync.current.key == "final_norm"


def test_the_masks_and_cross_attention_line_up(sync):
    sync.set_half("decoder")
    sync.set_row("self_attn")
    lines = [c.line for c in sync.columns]
    assert lines == [6, 5, 14]
    assert all(c.session.step.kind == "pattern" for c in sync.columns)
    sync.set_row("cross_attn")
    decoder, encoder, seq2seq = sync.columns
    assert decoder.line is None and encoder.line is None and seq2seq.line == 16
    assert seq2seq.session.step.name.endswith("cross_attn.pattern")
    sync.set_row("mlp")
    activations = [c.session.step.title for c in sync.columns]
    assert "GELU" in activations[0] and "GELU" in activations[1] and "ReLU" in activations[2]


def test_layers_and_text_follow(sync):
    sync.set_row("self_attn")
    sync.set_layer(1)
    assert all(c.session.step.layer == 1 for c in sync.columns)
    sync.set_layer(40)  # more than any has: each shows its last
    assert all(c.session.step.layer == c.session.cfg.n_layers - 1 or c.algorithm == 8
               for c in sync.columns)
    sync.set_layer(0)
    sync.set_text("the queen sings .")
    assert all(c.session.text == "the queen sings ." for c in sync.columns)
    assert [c.line for c in sync.columns] == [6, 5, 14]


def test_scene_round_trip(sync, tmp_path):
    from explorer.state.scene import load_scene, save_scene

    sync.set_half("encoder")
    sync.set_row("mlp")
    sync.set_layer(1)
    sync.set_head(2)
    scene = Scene(arch="decoder", text=TEXT, view="architectures", layer=sync.layer,
                  head=sync.head, view_options=scene_options(sync))
    save_scene(scene, tmp_path / "s.json")
    again = load_scene(tmp_path / "s.json")
    models = models_from_options(again.view_options)
    assert [m.cfg.arch for m in models] == ["decoder", "encoder", "encoder-decoder"]
    other = SideBySide(models[:2], TEXT)
    apply_options(other, again.view_options, again.layer, again.head)
    assert (other.current.key, other.half, other.layer, other.head) == ("mlp", "encoder", 1, 2)
    with pytest.raises(ValueError, match="no line"):
        apply_options(other, {"line": "nonsense"}, 0, 0)
    with pytest.raises(ValueError, match="one to three"):
        models_from_options({"models": []})
