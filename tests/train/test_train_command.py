"""``transformer-explorer train``: a tiny preset run, the metrics log, resume, failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from explorer.cli import main
from explorer.train import get_preset, register_preset, resolve_options
from explorer.train.presets import PRESETS


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.txt"
    path.write_text("the cat sat on the mat.\na dog ran to the park.\n" * 100, encoding="utf-8")
    return path


def test_tiny_preset_run_writes_metrics_and_a_checkpoint(corpus, tmp_path, capsys) -> None:
    out = tmp_path / "run"
    args = ["train", "--preset", "tiny", "--data", str(corpus), "--out", str(out)]
    assert main([*args, "--steps", "20", "--val-every", "10"]) == 0
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == list(range(1, 21))
    assert {"step", "loss", "lr", "grad_norm", "tokens_per_s", "elapsed_s"} <= set(lines[0])
    assert "val_loss" in lines[9] and "val_loss" not in lines[8]
    assert (out / "checkpoint" / "model.safetensors").is_file()
    err = capsys.readouterr().err
    assert "DTransformer" in err and "done: step 20" in err and "sample:" in err

    assert main(args) == 1  # the folder already holds a run
    assert "--resume" in capsys.readouterr().err
    assert main(["train", "--resume", str(out), "--steps", "30", "--quiet"]) == 0
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == list(range(1, 31))


def test_failures_exit_non_zero_with_a_message(tmp_path, capsys) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert main(["train", "--data", str(empty), "--out", str(tmp_path / "r")]) == 1
    assert "the file is empty" in capsys.readouterr().err
    assert main(["train", "--data", str(empty)]) == 1
    assert "--out DIR is required" in capsys.readouterr().err
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("a\tb\n" * 10)
    code = main(["train", "--task", "seq2seq", "--arch", "decoder", "--data", str(pairs),
                 "--out", str(tmp_path / "s")])
    assert code == 1 and "trains an encoder-decoder model" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path / "missing")]) == 1
    assert "no such folder" in capsys.readouterr().err


def test_out_of_memory_saves_and_says_what_to_do(corpus, tmp_path, capsys, monkeypatch) -> None:
    import torch

    from explorer.train import loop

    real = loop.Trainer._train_step
    calls = {"n": 0}

    def oom_at_step_5(self, lr):
        calls["n"] += 1
        if calls["n"] == 5:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 8 GiB")
        return real(self, lr)

    monkeypatch.setattr(loop.Trainer, "_train_step", oom_at_step_5)
    out = tmp_path / "run"
    code = main(["train", "--preset", "tiny", "--data", str(corpus), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    assert "ran out of memory at batch size 8" in err and "--batch-size" in err
    assert "--device cpu" in err
    monkeypatch.undo()
    assert main(["train", "--resume", str(out), "--batch-size", "4", "--quiet"]) == 0


def test_presets_merge_defaults_preset_and_options() -> None:
    options = resolve_options("tiny", {"steps": 5, "lr": None, "unrelated": 1})
    assert options["steps"] == 5 and options["lr"] == get_preset("tiny")["lr"]
    assert options["weight_decay"] == 0.01 and "unrelated" not in options
    with pytest.raises(ValueError, match="unknown preset 'nope'"):
        get_preset("nope")
    with pytest.raises(ValueError, match="unknown option"):
        register_preset("bad", {"colour": "red"})
    register_preset("test-extra", {"steps": 3})
    try:
        assert resolve_options("test-extra", {})["steps"] == 3
    finally:
        PRESETS.pop("test-extra")


def test_ctrl_c_stops_and_a_second_one_interrupts_unless_saving() -> None:
    import signal

    from explorer.commands.train import _stop_on_signals, _Stopper
    from explorer.train import TrainControl

    control = TrainControl()
    stopper = _Stopper(control)
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    with _stop_on_signals(stopper):
        handler = signal.getsignal(signal.SIGTERM)
        assert handler is signal.getsignal(signal.SIGINT) is signal.getsignal(signal.SIGHUP)
        handler(signal.SIGTERM, None)
        assert control.stopped and stopper.exit_code == 128 + signal.SIGTERM
        with pytest.raises(KeyboardInterrupt):
            handler(signal.SIGINT, None)
        stopper.saving = True
        handler(signal.SIGINT, None)  # while the checkpoint is written: ignored
    assert {s: signal.getsignal(s) for s in before} == before
