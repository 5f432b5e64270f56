"""Poisoned or absurd model folders: non-finite weights named, huge configs refused unread,
one --model resolver for every command."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from explorer.cli import main
from explorer.commands.model_arg import bundled_model_dir
from explorer.core import load_model, read_config, save_model
from explorer.io import CheckpointError, describe_pretrained, open_model


@pytest.fixture
def nan_folder(tmp_path):
    folder = tmp_path / "nan-model"
    shutil.copytree(bundled_model_dir("default-decoder"), folder)
    model = load_model(folder)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.startswith("stack.blocks.0.attn"):
                p.fill_(float("nan"))
    save_model(model, folder)
    return folder


def test_non_finite_weights_are_named_when_loading(nan_folder):
    _, _, info = open_model(nan_folder)
    note = next(n for n in info["notes"] if "NaN or infinite" in n)
    assert "stack.blocks.0.attn." in note


def test_generate_with_non_finite_weights_gives_a_message(nan_folder, capsys):
    assert main(["generate", "--model", str(nan_folder), "--prompt", "the "]) == 2
    err = capsys.readouterr().err
    assert "NaN or infinite" in err and "Traceback" not in err
    assert main(["generate", "--model", str(nan_folder), "--temperature", "0"]) == 2


def test_inspect_labels_non_finite_values_as_such(nan_folder, capsys):
    assert main(["inspect", "--model", str(nan_folder), "--text", "the cat"]) == 0
    out = capsys.readouterr().out
    assert "(all masked)" not in out
    assert "(no finite values)" in out and "NaN]" in out
    assert "NaN or infinite values" in out  # the note naming the tensors
    assert main(["inspect", "--model", str(nan_folder), "--text", "the cat", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    logits = next(s for s in report["steps"] if s["name"] == "logits")
    assert logits["stats"]["nan"] > 0 and "mean" not in logits["stats"]


def test_a_masked_pattern_is_still_called_masked(capsys):
    assert main(["inspect", "--text", "abc", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    scores = [s for s in report["steps"] if s["stats"]["masked"]]
    assert scores and all("nan" not in s["stats"] for s in scores)


@pytest.mark.parametrize("opener", ["ours", "hf"])
def test_a_huge_config_file_is_refused_before_reading(tmp_path, opener, monkeypatch):
    folder = tmp_path / "big"
    folder.mkdir()
    with (folder / "config.json").open("wb") as f:
        f.truncate(17 * 2**20)  # sparse: 17 MB of zeros, written instantly

    def no_reading(self, *a, **k):
        raise AssertionError(f"{self} was read")

    monkeypatch.setattr(type(folder), "read_text", no_reading)
    monkeypatch.setattr(type(folder), "read_bytes", no_reading)
    if opener == "ours":
        with pytest.raises(ValueError, match="too large"):
            read_config(folder)
    else:
        with pytest.raises(CheckpointError, match="too large"):
            describe_pretrained(folder)
        with pytest.raises(CheckpointError, match="too large"):
            open_model(folder)


def test_inspect_accepts_bundled_names_like_generate(capsys):
    assert main(["inspect", "--model", "default-decoder", "--text", "the cat"]) == 0
    assert "DTransformer" in capsys.readouterr().out
    assert main(["inspect", "--model", "no-such-model"]) == 2
    err = capsys.readouterr().err
    assert "no such folder, nor a bundled model" in err and "default-decoder" in err
    assert main(["generate", "--model", "no-such-model"]) == 2
    assert "no such folder, nor a bundled model" in capsys.readouterr().err


def _poisoned(name: str, tmp_path):
    folder = tmp_path / name
    shutil.copytree(bundled_model_dir(name), folder)
    model = load_model(folder)
    with torch.no_grad():
        next(model.parameters()).fill_(float("inf"))
        for p in model.parameters():
            p.mul_(float("nan") if p.dim() > 1 else 1.0)
    save_model(model, folder)
    return folder


@pytest.mark.parametrize(("name", "argv"), [
    ("default-encoder", ["fill-mask", "--text", "the old wiz<mask>rd sees a cat ."]),
    ("default-classifier", ["classify", "--text", "the happy girl laughs ."]),
])
def test_fill_mask_and_classify_with_non_finite_weights_give_a_message(name, argv, tmp_path,
                                                                         capsys):
    folder = _poisoned(name, tmp_path)
    assert main([*argv, "--model", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "NaN or infinite" in err and "Traceback" not in err


def test_the_generation_session_ends_with_the_message(nan_folder):
    from explorer.core.inference import NonFiniteOutput
    from explorer.state.generation import Generation

    model, tok, _ = open_model(nan_folder)
    gen = Generation(model, tok)
    gen.start("the ")
    with pytest.raises(NonFiniteOutput, match="NaN or infinite"):
        gen.step()
    assert gen.step() is None  # over, not a second traceback
