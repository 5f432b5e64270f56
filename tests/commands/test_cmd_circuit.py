"""``transformer-explorer analyze attribute`` and ``analyze circuit`` on the bundled models,
and their errors."""

from __future__ import annotations

import pytest

from explorer.cli import main
from tests.commands.conftest import analyze_json

CLEAN, CORRUPTED = "the king sings .", "the kind sings ."
PAIR = ["--text", CLEAN, "--corrupted", CORRUPTED, "--target", "s", "--other", "x"]
SEQ2SEQ = ["--model", "default-seq2seq", "--text", "the king sings", "--corrupted",
           "the girl sings", "--target", "kiza", "--other", "vogi", "--position", "0"]


def test_attribute_has_patchs_layout_cell_by_cell(capsys):
    patch = analyze_json(capsys, ["patch", *PAIR])
    attribute = analyze_json(capsys, ["attribute", *PAIR])
    assert attribute["analysis"] == "attribute" and attribute["layers"] == patch["layers"]
    assert attribute["heads"] == patch["heads"]
    assert attribute["clean_metric"] == pytest.approx(patch["clean_diff"], abs=1e-4)
    for site, rows in patch["sweeps"].items():
        estimate = attribute["sweeps"][site]
        assert [len(r) for r in estimate] == [len(r) for r in rows]
    assert {"q", "k", "v"} <= set(attribute["sweeps"])
    compared = analyze_json(capsys, ["attribute", *PAIR, "--sites", "mlp_out,q", "--exact"])
    assert list(compared["correlation"]) == ["mlp_out"]
    assert 0.5 < compared["correlation"]["mlp_out"] <= 1
    # the last layer's MLP output reaches the logits through the final norm only
    last = attribute["sweeps"]["mlp_out"][-1][-1], patch["sweeps"]["mlp_out"][-1][-1]
    assert last[0] == pytest.approx(last[1], abs=0.15)


def test_attribute_metrics_and_the_encoder_decoder(capsys):
    loss = analyze_json(capsys, ["attribute", *PAIR[:6], "--metric", "loss", "--sites",
                                 "head_out"])
    assert loss["metric"] == "loss" and list(loss["sweeps"]) == ["head_out"]
    out = analyze_json(capsys, ["attribute", *SEQ2SEQ, "--sites",
                                "cross_head_out,encoder.resid"])
    assert out["decoder_tokens"][:1] and len(out["sweeps"]["encoder.resid"][0]) == 3
    assert any(v != 0 for row in out["sweeps"]["cross_head_out"] for v in row)


def test_circuit_json_names_nodes_from_1_and_runs_faithfulness_from_none_to_all(capsys):
    out = analyze_json(capsys, ["circuit", *PAIR, "--method", "eap-ig", "--steps", "3",
                                "--edges", "7"])
    assert out["method"] == "eap-ig" and out["steps"] == 3 and len(out["edges"]) == 7
    assert set(out["edges"][0]) == {"from", "to", "score"}
    labels = {e["from"] for e in out["edges"]} | {e["to"] for e in out["edges"]}
    assert all("L0" not in label and "H0" not in label for label in labels)
    assert {"L1H1.q", "L3H4.v", "MLP1", "embed", "logits"} <= set(out["nodes"])
    curve = out["faithfulness"]
    assert curve[0] == {"edges": 0, "recovered": 0.0}
    assert curve[-1] == {"edges": out["total_edges"], "recovered": 1.0}
    assert 7 in [p["edges"] for p in curve]
    assert main(["analyze", "circuit", *PAIR, "--threshold", "0.5"]) == 0
    assert "faithfulness" in capsys.readouterr().out


def test_circuit_of_an_encoder_decoder_has_cross_attention_edges(capsys):
    out = analyze_json(capsys, ["circuit", *SEQ2SEQ, "--edges", "100000"])
    cross = [e for e in out["edges"] if e["from"].startswith("enc ")
             and e["to"].startswith("dec ")]
    assert cross and all("X" in e["to"] and e["to"][-2:] in (".k", ".v") for e in cross)


@pytest.mark.parametrize("argv, message", [
    (["attribute", "--text", CLEAN, "--corrupted", "the kings sings .", "--target", "s",
      "--other", "x"], "same token length"),
    (["attribute", *PAIR, "--sites", "resid,logits"], "site 'logits'"),
    (["attribute", "--text", CLEAN, "--corrupted", CORRUPTED, "--target", "s", "--other",
      "s"], "the target and the other token are the same"),
    (["attribute", "--text", CLEAN, "--corrupted", CORRUPTED, "--target", "s"],
     "needs --other"),
    (["attribute", *PAIR, "--sites", "q", "--exact"], "needs one of the exact sweeps"),
    (["attribute", *PAIR, "--metric", "kl", "--exact"], "the logit difference at the last"),
    (["circuit", "--text", CLEAN, "--corrupted", "the kings sings .", "--target", "s",
      "--other", "x"], "same token length"),
    (["circuit", "--text", CLEAN, "--corrupted", CORRUPTED, "--target", "s", "--other",
      "s"], "the target and the other token are the same"),
    (["circuit", *PAIR, "--method", "eap-ig", "--steps", "0"], "--steps must be at least 1"),
    (["circuit", "--model", "default-classifier", *PAIR], "no token output head"),
])
def test_bad_input_exits_non_zero_with_one_line(capsys, argv, message):
    assert main(["analyze", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1
