"""``transformer-explorer analyze heads``: JSON per head (from 1), per snapshot, errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from explorer.cli import main
from explorer.core.serialization import save_model
from explorer.train.snapshots import write_snapshot
from tests.commands.conftest import analyze_json

sys.path.insert(0, str(Path(__file__).parents[1] / "analysis"))
from analysis_models import make_model  # noqa: E402
from induction_weights import induction_model  # noqa: E402


def test_heads_json_finds_the_hand_built_circuit_counting_from_1(capsys, tmp_path):
    save_model(induction_model(), tmp_path / "m")
    out = analyze_json(capsys, ["heads", "--model", str(tmp_path / "m")])
    heads = {h["label"]: h for h in out["heads"]}
    assert set(heads) == {"L1H1", "L1H2", "L2H1", "L2H2"}
    assert heads["L1H1"]["layer"] == 1 and heads["L1H1"]["head"] == 1
    assert max(heads, key=lambda k: heads[k]["previous_token"]) == "L1H1"
    assert max(heads, key=lambda k: heads[k]["prefix_matching"]) == "L2H1"
    top = max(out["composition"]["edges"], key=lambda e: e["score"])
    assert (top["from"]["label"], top["to"]["label"], top["kind"]) == ("L1H1", "L2H1", "k")
    assert top["score"] > 2 * out["composition"]["baseline"]["k"]
    circuit = out["circuit"]
    assert circuit["induction_head"]["label"] == "L2H1"
    assert circuit["prefix_matching"]["ablated"] < circuit["prefix_matching"]["before"] - 0.4
    assert out["icl_score"] < 0


def test_heads_table(capsys, tmp_path):
    save_model(induction_model(), tmp_path / "m")
    assert main(["analyze", "heads", "--model", str(tmp_path / "m")]) == 0
    text = capsys.readouterr().out
    assert "L2H1" in text and "ICL score" in text and "L1H1 -> L2H1.k" in text


def test_heads_per_snapshot_finds_the_phase_change(capsys, tmp_path):
    for step in (0, 100, 200):
        write_snapshot(make_model("decoder", vocab_size=8, l_max=16, n_heads=2, d_e=32, d_mlp=8),
                       None, step, tmp_path)
    for step in (300, 400, 500):
        write_snapshot(induction_model(), None, step, tmp_path)
    out = analyze_json(capsys, ["heads", "--model", str(tmp_path), "--snapshots"])
    assert [s["step"] for s in out["snapshots"]] == [0, 100, 200, 300, 400, 500]
    pc = out["phase_change"]
    assert (pc["kind"], pc["middle"], pc["curve"]) == ("step", 300, "prefix_matching")
    assert main(["analyze", "heads", "--model", str(tmp_path), "--snapshots"]) == 0
    text = capsys.readouterr().out
    assert "phase change: step at step 300" in text and "at step 500: ablating L1H1" in text


@pytest.mark.parametrize("argv, message", [
    (["--model", "no/such/folder"], "no such folder"),
    (["--model", "no/such/run", "--snapshots"], "no such run folder"),
    (["--model", "default-encoder"], "need a decoder"),
])
def test_heads_errors_are_one_line_and_exit_2(capsys, argv, message):
    assert main(["analyze", "heads", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_heads_snapshots_of_a_run_without_them(capsys, tmp_path):
    assert main(["analyze", "heads", "--model", str(tmp_path), "--snapshots"]) == 2
    assert "no weight snapshots" in capsys.readouterr().err
