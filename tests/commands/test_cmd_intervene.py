"""``transformer-explorer analyze ablate|patch`` on the bundled models, and its errors."""

from __future__ import annotations

import pytest
import torch

from explorer.analysis import head_importance
from explorer.cli import main
from explorer.commands.model_arg import model_input_ids, open_model_arg
from tests.commands.conftest import analyze_json

TEXT = "the old king sings ."
CLEAN, CORRUPTED = "the king sings .", "the kind sings ."


@pytest.fixture(scope="module")
def decoder():
    model, tok, _ = open_model_arg("default-decoder")
    return model, tok


def test_ablate_without_a_head_is_the_head_importance_sweep(capsys, decoder):
    model, tok = decoder
    out = analyze_json(capsys, ["ablate", "--text", TEXT])
    expected = head_importance(model, model_input_ids(model, tok, TEXT))
    assert out["sweep"] == "head_importance" and out["mode"] == "zero"
    torch.testing.assert_close(torch.tensor(out["delta_loss"], dtype=torch.float64),
                               expected.delta, atol=1e-5, rtol=0)
    assert out["base_loss"] == pytest.approx(expected.base_loss, abs=1e-5)
    assert main(["analyze", "ablate", "--text", TEXT, "--mean"]) == 0
    table = capsys.readouterr().out
    assert table.startswith("Δ loss with each head mean-ablated")
    assert len(table.strip().splitlines()) == 2 + model.cfg.n_layers


def test_ablate_one_head_or_mlp_shows_its_effect(capsys, decoder):
    model, tok = decoder
    sweep = head_importance(model, model_input_ids(model, tok, TEXT))
    head = analyze_json(capsys, ["ablate", "--text", TEXT, "--head", "2.3"])
    assert head["intervention"] == {"kind": "ablate_head", "layer": 2, "head": 3,
                                    "mode": "zero", "reference": None, "stack": None}
    assert head["label"] == "Layer 2 · head 3: zero-ablated"  # as the window says it
    assert head["delta_loss"] == pytest.approx(float(sweep.delta[1, 2]), abs=1e-5)
    mlp = analyze_json(capsys, ["ablate", "--text", TEXT, "--mlp", "1", "--position", "3",
                         "--target", "k"])
    assert mlp["position"] == 3 and mlp["target"] == "k"
    assert mlp["delta_p"] == pytest.approx(mlp["p_ablated"] - mlp["p_clean"], abs=1e-5)
    assert mlp["kl"] > 0
    assert main(["analyze", "ablate", "--text", TEXT, "--mlp", "1"]) == 0
    text = capsys.readouterr().out
    assert "KL(clean ‖ ablated)" in text and "(changed)" in text


def test_patch_sweeps_restore_the_clean_answer_where_the_texts_differ(capsys, decoder):
    model, _ = decoder
    out = analyze_json(capsys, ["patch", "--text", CLEAN, "--corrupted", CORRUPTED,
                         "--target", "s", "--other", "x"])
    assert set(out["sweeps"]) == {"resid", "attn_out", "mlp_out", "head_out"}
    resid = torch.tensor(out["sweeps"]["resid"])
    differ = [t for t, (a, b) in enumerate(zip(out["tokens"], out["corrupted_tokens"]))
              if a != b]
    assert len(differ) == 1 and resid.shape == (model.cfg.n_layers, len(out["tokens"]))
    assert float(resid[0, differ[0]]) == pytest.approx(1.0, abs=1e-4)
    others = [t for t in range(resid.shape[1]) if t != differ[0]]
    assert resid[0, others].abs().max() < 1e-4  # the same stream: nothing changes (rounding)
    assert torch.tensor(out["sweeps"]["head_out"]).shape == (model.cfg.n_layers,
                                                             model.cfg.n_heads)
    assert main(["analyze", "patch", "--text", CLEAN, "--corrupted", CORRUPTED,
                 "--target", "s", "--other", "x", "--sites", "resid"]) == 0
    table = capsys.readouterr().out
    assert "0 = corrupted, 1 = clean" in table and "g/d" in table
    assert "head output" not in table


@pytest.mark.parametrize("argv, message", [
    (["patch", "--text", CLEAN, "--corrupted", "the kings sings .", "--target", "s",
      "--other", "x"], "same token length"),
    (["patch", "--text", CLEAN, "--corrupted", CORRUPTED, "--target", "zzz", "--other",
      "x"], "not a token of this model's vocabulary"),
    (["patch", "--text", CLEAN, "--corrupted", "  ", "--target", "s", "--other", "x"],
     "corrupted text is empty"),
    (["patch", "--text", CLEAN, "--corrupted", CORRUPTED, "--target", "s", "--other", "x",
      "--sites", "resid,logits"], "site 'logits'"),
    (["patch", "--model", "default-seq2seq", "--text", "the girl", "--corrupted",
      "the hat", "--target", "s", "--other", "x"], "decoder- or encoder-only"),
    (["ablate", "--text", TEXT, "--head", "1.7"], "no head 7; its heads are 1 to 4"),
    (["ablate", "--text", TEXT, "--head", "12"], "LAYER.HEAD like 1.2"),
    (["ablate", "--text", TEXT, "--mlp", "9"], "no layer 9; its layers are 1 to 3"),
    (["ablate", "--text", TEXT, "--head", "0.1"], "layers and heads count from 1, as in the "
     "paper: --head 1.2 is layer 1, head 2"),
    (["ablate", "--text", TEXT, "--head", "1.0"], "layers and heads count from 1"),
    (["ablate", "--text", TEXT, "--mlp", "0"], "layers and heads count from 1"),
    (["ablate", "--model", "default-encoder", "--text", TEXT], "next-token loss"),
    (["ablate", "--model", "default-classifier", "--text", TEXT], "no token output head"),
])
def test_bad_input_exits_non_zero_with_one_line(capsys, argv, message):
    assert main(["analyze", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1
