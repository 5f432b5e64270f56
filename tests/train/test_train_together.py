"""Training the three architectures together (issue 30 §4): the CLI preset, a stop in the
middle, and a resume of each run folder."""

from __future__ import annotations

import json

import pytest

from explorer.cli import main
from explorer.train import TrainControl
from explorer.train.together import RUNS, TrainTogether, run_folders

FAST = {"steps": 3, "batch_size": 2, "val_every": 0, "save_every": 0, "device": "cpu"}


def test_the_preset_trains_three_run_folders_that_open(tmp_path, capsys) -> None:
    from explorer.io import open_model
    from explorer.state.defaults import LoadedModel, default_model
    from explorer.state.swap import same_model

    out = tmp_path / "cmp"
    code = main(["train", "--preset", "compare-architectures", "--out", str(out),
                 "--steps", "2", "--batch-size", "2", "--val-every", "0", "--device", "cpu"])
    assert code == 0, capsys.readouterr().err
    assert "nats per predicted token" in capsys.readouterr().err
    for arch, folder in run_folders(out).items():
        lines = (folder / "metrics.jsonl").read_text().splitlines()
        assert [json.loads(line)["step"] for line in lines] == [1, 2]
        model, tokenizer, info = open_model(folder)
        assert info["arch"] == arch
        # the bundled model's configuration and vocabulary: the columns take its weights
        assert same_model(default_model(arch), LoadedModel(model, tokenizer, "", "folder"))
    # a second start into the same folder is refused; the model's options are fixed
    assert main(["train", "--preset", "compare-architectures", "--out", str(out)]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(["train", "--preset", "compare-architectures", "--out", str(tmp_path / "x"),
                 "--d-e", "32"]) == 2
    assert "--d-e" in capsys.readouterr().err
    assert main(["train", "--preset", "compare-architectures", "--out", str(tmp_path / "x"),
                 "--nproc", "2"]) == 2  # one process, one step of each in turn
    assert "--nproc" in capsys.readouterr().err


def test_a_stop_in_the_middle_leaves_each_folder_resumable(tmp_path) -> None:
    out = tmp_path / "cmp"
    control = TrainControl()
    together = TrainTogether.new(out, FAST, control)
    seen = []
    for arch, result in together.steps(control):
        seen.append((arch, result.step))
        if len(seen) == 4:  # the decoder's second step: the others have one
            control.stop()
    assert seen == [("decoder", 1), ("encoder", 1), ("encoder-decoder", 1), ("decoder", 2)]
    saved = together.save()
    assert set(saved) == set(RUNS) and all(s.ok for s in saved.values())

    again = TrainTogether.resume(out, {"device": "cpu"})
    assert {a: t.step for a, t in again.trainers.items()} == {
        "decoder": 2, "encoder": 1, "encoder-decoder": 1}
    steps = {arch: [] for arch in RUNS}
    for arch, result in again.steps():
        steps[arch].append(result.step)
    assert steps == {"decoder": [3], "encoder": [2, 3], "encoder-decoder": [2, 3]}
    assert again.done
    again.save()
    for folder in run_folders(out).values():  # each folder alone resumes: nothing left
        lines = (folder / "metrics.jsonl").read_text().splitlines()
        assert [json.loads(line)["step"] for line in lines] == [1, 2, 3]
    with pytest.raises(ValueError, match="--task"):
        TrainTogether.resume(out, {"task": "masked"})
