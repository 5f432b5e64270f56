"""``transformer-explorer sae train|features``: train, resume, read features, refuse."""

from __future__ import annotations

import json

from explorer.cli import main

SMALL = ["--steps", "3", "--batch", "64", "--width", "64", "--k", "4", "--quiet"]


def test_train_resume_and_features(tmp_path, capsys):
    out = tmp_path / "sae"
    argv = ["sae", "train", "--site", "blocks.1.hook_resid_post", "--out", str(out), *SMALL]
    assert main([*argv, "--json"]) == 0, capsys.readouterr().err
    first = json.loads(capsys.readouterr().out)
    assert first["site"] == "blocks.1.resid_mlp" and first["layer"] == 2
    assert first["step"] == 3 and first["features"] == 64 and first["l0"] <= 4
    assert {"fvu", "mse", "dead_fraction", "ce_loss_recovered"} <= set(first)
    assert (out / "cfg.json").is_file() and (out / "sae_weights.safetensors").is_file()
    assert main([*argv, "--steps", "5", "--json"]) == 0  # the same --out: resumed
    resumed = json.loads(capsys.readouterr().out)
    assert resumed["step"] == 5 and resumed["resumed_from"] == 3
    assert first["resumed_from"] is None
    assert main(["sae", "features", "--sae", str(out), "--text", "the king sings .",
                 "--top", "3", "--json"]) == 0, capsys.readouterr().err
    shown = json.loads(capsys.readouterr().out)
    assert shown["layer"] == 2 and 0 < len(shown["features"]) <= 3
    row = shown["features"][0]
    assert len(row["activations"]) == len(shown["tokens"]) and row["max"] > 0
    assert len(row["pushes_up"]) == 5
    assert main(["sae", "features", "--sae", str(out), "--text", "the king sings ."]) == 0
    assert "feature" in capsys.readouterr().out


def test_mistakes_are_one_line_errors(tmp_path, capsys):
    cases = [
        ["sae", "train", "--site", "blocks.9.resid_mlp", "--out", str(tmp_path / "a"), *SMALL],
        ["sae", "train", "--site", "blocks.0.attn.head_out", "--out", str(tmp_path / "b"),
         *SMALL],
        ["sae", "train", "--site", "blocks.0.resid_mlp", "--head", "0", "--out",
         str(tmp_path / "c"), *SMALL],
        ["sae", "features", "--sae", str(tmp_path / "none"), "--text", "a"],
    ]
    for argv in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
