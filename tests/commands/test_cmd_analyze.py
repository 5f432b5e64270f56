"""``transformer-explorer analyze lens|dla|loss|pca`` on the bundled models, and its errors."""

from __future__ import annotations

import pytest
import torch

from explorer.cli import main
from explorer.commands.model_arg import model_input_ids, open_model_arg
from explorer.data import translate
from explorer.train.objectives import next_token_loss, seq2seq_loss
from tests.commands.conftest import analyze_json

TEXT = "the old king sings ."


@pytest.fixture(scope="module")
def decoder():
    model, tok, _ = open_model_arg("default-decoder")
    return model, tok, torch.tensor(model_input_ids(model, tok, TEXT))


def test_lens_json_last_row_is_the_output_distribution(capsys, decoder):
    model, _, ids = decoder
    out = analyze_json(capsys, ["lens", "--text", TEXT, "--top-k", "3"])
    assert out["points"][0] == "embedding" and len(out["points"]) == 1 + 2 * 3
    assert len(out["tokens"]) == len(ids) and len(out["grid"][-1]) == len(ids)
    with torch.no_grad():
        probs = torch.softmax(model(ids[None])[0], -1)
    for t, cell in enumerate(out["grid"][-1]):
        assert [p for _, p in cell["top"]] == pytest.approx(
            probs[t].topk(3).values.tolist(), abs=1e-5)
    assert out["targets"][-1] is None  # nothing follows the last token


def test_lens_table_names_points_and_follows_the_target(capsys):
    assert main(["analyze", "lens", "--text", TEXT, "--position", "2", "--target", "l"]) == 0
    text = capsys.readouterr().out
    assert "layer 3 MLP" in text and "target 'l' at position 2" in text


def test_dla_json_parts_add_up_to_the_logit_difference(capsys):
    out = analyze_json(capsys, ["dla", "--text", TEXT, "--position", "3", "--target", "k",
                         "--other", "s"])
    assert out["target"] == "k" and out["other"] == "s" and out["position"] == 3
    kinds = {p["kind"] for p in out["parts"]}
    assert kinds == {"token", "position", "head", "attn_bias", "mlp"}
    assert out["total"] == pytest.approx(out["logit"], abs=1e-4)
    assert sum(p["value"] for p in out["parts"]) + out["remainder"] == pytest.approx(
        out["logit"], abs=1e-4)


def test_dla_table_defaults_to_the_top_token_at_the_last_position(capsys):
    assert main(["analyze", "dla", "--text", TEXT]) == 0
    text = capsys.readouterr().out
    assert text.startswith("logit[") and "L3 MLP" in text and "remainder" in text


def test_loss_json_is_the_objectives_loss(capsys, decoder):
    model, _, ids = decoder
    out = analyze_json(capsys, ["loss", "--text", TEXT])
    with torch.no_grad():
        expected, count = next_token_loss(model(ids[None]), ids[None])
    assert out["objective"] == "next-token" and out["count"] == count
    assert out["mean"] == pytest.approx(float(expected), abs=1e-5)
    assert main(["analyze", "loss", "--text", TEXT]) == 0
    assert "mean" in capsys.readouterr().out


def test_loss_of_the_encoder_decoder_is_algorithm_11s(capsys):
    model, tok, _ = open_model_arg("default-seq2seq")
    source = "the green girl likes the tall hat"
    target = translate(source)
    out = analyze_json(capsys, ["loss", "--model", "default-seq2seq", "--text", source,
                         "--decoder-text", target])
    z = torch.tensor(model_input_ids(model, tok, source, which=1))
    x = torch.tensor(model_input_ids(model, tok, target))
    with torch.no_grad():
        expected, count = seq2seq_loss(model(z[None], x[None]), x[None])
    assert out["objective"] == "seq2seq" and out["count"] == count
    assert out["mean"] == pytest.approx(float(expected), abs=1e-5)
    greedy = analyze_json(capsys, ["loss", "--model", "default-seq2seq", "--text", source])
    assert greedy["tokens"][0] == "⟨bos⟩" and greedy["tokens"][-1] == "⟨eos⟩"


def test_loss_of_the_encoder_masks_positions(capsys):
    one = analyze_json(capsys, ["loss", "--model", "default-encoder", "--text", TEXT, "--mask",
                         "1,3"])
    assert one["objective"] == "masked" and [r["position"] for r in one["rows"]] == [1, 3]
    both = analyze_json(capsys, ["loss", "--model", "default-encoder", "--text", TEXT, "--mask",
                          "1,3", "--together"])
    assert both["rows"][0]["loss"] != one["rows"][0]["loss"]  # one copy vs two copies
    every = analyze_json(capsys, ["loss", "--model", "default-encoder", "--text", TEXT])
    assert every["count"] == len(TEXT)  # every character, each masked alone


def test_pca_json_of_each_kind(capsys, decoder):
    _, _, ids = decoder
    res = analyze_json(capsys, ["pca", "--text", TEXT])
    assert len(res["points"]) == len(ids) and len(res["explained_ratio"]) == 2
    assert res["explained_ratio"][0] >= res["explained_ratio"][1]
    emb = analyze_json(capsys, ["pca", "--text", TEXT, "--of", "embeddings", "--components", "3"])
    assert len(emb["points"]) == 35 and len(emb["points"][0]["coords"]) == 3
    txt = analyze_json(capsys, ["pca", "--text", TEXT, "--of", "text"])
    assert len(txt["points"]) == len(set(ids.tolist()))
    step = analyze_json(capsys, ["pca", "--text", TEXT, "--step", "blocks.0.resid_attn"])
    assert step["of"] == "residual stream at blocks.0.resid_attn"


@pytest.mark.parametrize("argv, message", [
    (["dla", "--text", TEXT, "--target", "zzz"], "not a token of this model's vocabulary"),
    (["dla", "--text", TEXT, "--position", "40"], "out of range"),
    (["lens", "--text", TEXT, "--position", "-40"], "out of range"),
    (["lens", "--text", ""], "empty"),
    (["loss", "--model", "default-classifier", "--text", TEXT], "no token output head"),
    (["dla", "--model", "default-encoder", "--text", TEXT], "not linear"),
    (["pca", "--text", TEXT, "--step", "nowhere"], "not a step"),
    (["lens", "--model", "no/such/folder", "--text", TEXT], "no such folder"),
    (["loss", "--text", "t"], "at least two tokens"),
    (["lens", "--text", TEXT, "--decoder-text", "x"], "encoder-decoder"),
])
def test_bad_input_exits_non_zero_with_one_line(capsys, argv, message):
    assert main(["analyze", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1
