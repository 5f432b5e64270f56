"""``analyze`` reads token ids as well as text (also from a folder without a
tokenizer.json), takes negative positions, documents how to spell a token, offers patching
only the options it takes, and warns when the patching metric is noise."""

from __future__ import annotations

import shutil

import pytest

from explorer.cli import main
from explorer.commands.model_arg import bundled_model_dir, model_input_ids, open_model_arg
from tests.commands.conftest import analyze_json

TEXT = "the old king sings ."
CLEAN, CORRUPTED = "the king sings .", "the kind sings ."


@pytest.fixture(scope="module")
def ids() -> list[int]:
    model, tok, _ = open_model_arg("default-decoder")
    return model_input_ids(model, tok, TEXT)


def _csv(ids: list[int]) -> str:
    return ",".join(str(i) for i in ids)


def test_ids_give_the_same_analysis_as_the_text(capsys, ids):
    by_text = analyze_json(capsys, ["lens", "--text", TEXT])
    by_ids = analyze_json(capsys, ["lens", "--ids", _csv(ids)])
    assert by_ids == by_text
    spaced = analyze_json(capsys, ["dla", "--ids", " ".join(map(str, ids))])
    assert spaced == analyze_json(capsys, ["dla", "--text", TEXT])


def test_patch_takes_clean_and_corrupted_ids(capsys):
    model, tok, _ = open_model_arg("default-decoder")
    clean, corrupted = (model_input_ids(model, tok, t) for t in (CLEAN, CORRUPTED))
    by_text = analyze_json(capsys, ["patch", "--text", CLEAN, "--corrupted", CORRUPTED,
                                    "--target", "s", "--other", "x", "--sites", "resid"])
    by_ids = analyze_json(capsys, ["patch", "--ids", _csv(clean), "--corrupted-ids",
                                   _csv(corrupted), "--target", "s", "--other", "x",
                                   "--sites", "resid"])
    assert by_ids == by_text


def test_a_folder_without_tokenizer_json_works_from_ids(capsys, tmp_path, ids):
    folder = tmp_path / "no-tokenizer"
    shutil.copytree(bundled_model_dir("default-decoder"), folder)
    (folder / "tokenizer.json").unlink()
    target = ids[3]
    out = analyze_json(capsys, ["dla", "--model", str(folder), "--ids", _csv(ids),
                                "--target", f"#{target}", "--position", "2"])
    assert out["token"] == f"#{ids[2]}"
    assert out["target"] == f"#{target}"
    lens = analyze_json(capsys, ["lens", "--model", str(folder), "--ids", _csv(ids)])
    assert lens["tokens"] == [f"#{i}" for i in ids]
    assert main(["analyze", "lens", "--model", str(folder), "--text", TEXT]) == 2
    err = capsys.readouterr().err
    assert "no tokenizer.json" in err and "--ids" in err


def test_negative_positions_count_from_the_end(capsys, ids):
    last = analyze_json(capsys, ["dla", "--text", TEXT, "--position", "-1"])
    assert last["position"] == len(ids) - 1
    assert last == analyze_json(capsys, ["dla", "--text", TEXT, "--position",
                                         str(len(ids) - 1)])
    assert main(["analyze", "dla", "--text", TEXT, "--position", str(-len(ids) - 1)]) == 2
    assert "out of range" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["lens", "--ids", "1,x,3"], "--ids takes whole numbers"),
    (["lens", "--ids", "1,99999"], "outside the model's vocabulary"),
    (["patch", "--text", CLEAN, "--corrupted", " ", "--target", "s", "--other", "x"],
     "corrupted text is empty"),
])
def test_bad_ids_say_what_is_wrong(capsys, argv, message):
    assert main(["analyze", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def _help(capsys, argv) -> str:
    with pytest.raises(SystemExit):
        main(["analyze", *argv, "--help"])
    return " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("analysis", ["lens", "dla", "ablate", "patch"])
def test_target_help_documents_the_token_spellings(capsys, analysis):
    text = _help(capsys, [analysis])
    assert "#id" in text and "␣" in text and "Ġthe" in text


def test_patch_help_offers_only_what_patching_takes(capsys):
    text = _help(capsys, ["patch"])
    for refused in ("--decoder-text", "--decoder-ids", "context z", "--position"):
        assert refused not in text
    assert "--corrupted-ids" in text and "--ids" in text


def test_a_weak_logit_difference_is_warned_about(capsys, monkeypatch):
    import explorer.analysis.patching as patching

    argv = ["patch", "--text", CLEAN, "--corrupted", CORRUPTED, "--target", "s", "--other",
            "x", "--sites", "resid"]
    out = analyze_json(capsys, argv)
    assert out["warning"] is None and out["logit_std"] > 0
    gap = abs(out["clean_diff"] - out["corrupted_diff"])
    monkeypatch.setattr(patching, "WEAK_FRACTION", 2 * gap / out["logit_std"])
    assert main(["analyze", *argv, "--json"]) == 0
    captured = capsys.readouterr()
    assert "warning" in captured.err and "noise" in captured.err
    assert '"warning": "the clean and corrupted logit differences' in captured.out
    assert main(["analyze", *argv]) == 0
    assert "warning: the clean and corrupted" in capsys.readouterr().out
