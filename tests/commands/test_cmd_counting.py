"""One way to count: every flag, table and JSON field of the commands counts layers and
heads from 1, as the paper and the window do; ``--head 0.1`` is refused naming the rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from explorer.cli import main
from explorer.commands.counting import RULE
from tests.commands.conftest import analyze_json

TEXT = "the old king sings ."
CLEAN, CORRUPTED = "the king sings .", "the kind sings ."
N_LAYERS, N_HEADS = 3, 4  # the bundled decoder


def test_head_importance_rows_and_columns_are_numbered_from_1(capsys):
    out = analyze_json(capsys, ["ablate", "--text", TEXT])
    assert out["layers"] == [1, 2, 3] and out["heads"] == [1, 2, 3, 4]
    assert main(["analyze", "ablate", "--text", TEXT]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["layer", "H1", "H2", "H3", "H4"]
    assert [line.split()[0] for line in lines[2:]] == ["1", "2", "3"]


def test_an_ablated_head_is_the_one_the_window_names(capsys):
    out = analyze_json(capsys, ["ablate", "--text", TEXT, "--head", "1.1"])
    assert out["intervention"]["layer"] == 1 and out["intervention"]["head"] == 1
    assert out["label"] == "Layer 1 · head 1: zero-ablated"
    sweep = analyze_json(capsys, ["ablate", "--text", TEXT])
    assert out["delta_loss"] == pytest.approx(sweep["delta_loss"][0][0], abs=1e-5)


def test_patch_sweeps_number_their_layers_and_heads_from_1(capsys):
    out = analyze_json(capsys, ["patch", "--text", CLEAN, "--corrupted", CORRUPTED,
                                "--target", "s", "--other", "x"])
    assert out["layers"] == [1, 2, 3] and out["heads"] == [1, 2, 3, 4]
    assert main(["analyze", "patch", "--text", CLEAN, "--corrupted", CORRUPTED, "--target",
                 "s", "--other", "x", "--sites", "head_out"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("layer "))
    assert lines[header].split() == ["layer", "H1", "H2", "H3", "H4"]
    assert [line.split()[0] for line in lines[header + 1:]] == ["1", "2", "3"]


def test_dla_parts_count_layers_and_heads_from_1_like_their_labels(capsys):
    out = analyze_json(capsys, ["dla", "--text", TEXT])
    heads = [p for p in out["parts"] if p["kind"] == "head"]
    assert {p["layer"] for p in heads} == {1, 2, 3} and {p["head"] for p in heads} == {1, 2, 3, 4}
    for p in heads:
        assert p["label"] == f"L{p['layer']} H{p['head']}"
    assert all(p["layer"] is None for p in out["parts"] if p["kind"] == "token")


@pytest.mark.parametrize("argv", [
    ["analyze", "ablate", "--text", TEXT, "--head", "0.1"],
    ["analyze", "ablate", "--text", TEXT, "--head", "2.0"],
    ["analyze", "ablate", "--text", TEXT, "--mlp", "0"],
])
def test_layer_or_head_0_is_refused_naming_the_rule(capsys, argv):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert RULE in err and err.count("\n") == 1
    assert RULE == "layers and heads count from 1, as in the paper: --head 1.2 is layer 1, head 2"


def test_render_refuses_layer_0_naming_the_rule(capsys, tmp_path):
    assert main(["render", "-o", str(tmp_path / "x.png"), "--view", "attention",
                 "--layer", "0"]) == 2
    assert RULE in capsys.readouterr().err


@pytest.mark.parametrize("command", [["analyze"], ["analyze", "ablate"], ["analyze", "dla"],
                                     ["analyze", "patch"], ["render"], ["inspect"], []])
def test_each_relevant_help_states_the_rule(capsys, command):
    with pytest.raises(SystemExit):
        main([*command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "Layers and heads count from 1, as in the paper" in text
    assert "blocks.0 is layer 1" in text


def test_readme_states_the_rule():
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Command line", 1)[1].split("\n## ", 1)[0]
    assert "count from 1" in section and "--head 1.2" in section
