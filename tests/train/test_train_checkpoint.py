"""Checkpoints: exact resume, atomic writes, clear errors for damage, one writer per folder."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from explorer.core import load_model
from explorer.train import (
    CheckpointError,
    RunLock,
    RunLocked,
    TrainConfig,
    load_checkpoint_model,
    new_trainer,
    resume_trainer,
    save_checkpoint,
)
from explorer.train import checkpoint as ckpt


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.txt"
    path.write_text("the cat sat on the mat. a dog ran to the park.\n" * 150, encoding="utf-8")
    return path


def tiny(corpus: Path, task: str = "next-token"):
    cfg = TrainConfig(task=task, steps=24, batch_size=8, lr=3e-3, val_every=8, device="cpu")
    return new_trainer(corpus, cfg, "char", l_max=32, d_e=32, n_heads=2, n_layers=1)


@pytest.mark.parametrize("task", ["next-token", "masked"])
def test_resume_gives_the_same_losses_as_an_uninterrupted_run(corpus, tmp_path, task) -> None:
    straight = [(r.loss, r.val_loss) for r in tiny(corpus, task).steps()]
    first = tiny(corpus, task)
    it = first.steps()
    for _ in range(11):
        next(it)
    save_checkpoint(first, tmp_path / "run")
    resumed = resume_trainer(tmp_path / "run")
    assert resumed.step == 11
    rest = [(r.loss, r.val_loss) for r in resumed.steps()]
    assert rest == straight[11:]  # exactly, not approximately
    assert resumed.history.step == list(range(1, 25))


def test_checkpoint_holds_safetensors_json_and_tokenizer(corpus, tmp_path) -> None:
    trainer = tiny(corpus)
    list(trainer.steps())
    folder = save_checkpoint(trainer, tmp_path / "run")
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["config.json", "model.safetensors", "tokenizer.json", "trainer.json",
                     "trainer.safetensors"]
    state = json.loads((folder / "trainer.json").read_text())
    assert state["step"] == 24 and state["train_config"]["task"] == "next-token"
    assert load_model(folder).cfg == trainer.model.cfg  # the inspector can open it
    assert load_checkpoint_model(tmp_path / "run").cfg == trainer.model.cfg
    RunLock(tmp_path / "run").acquire().release()  # the save let go of its lock


def test_a_damaged_file_gives_a_clear_error(corpus, tmp_path) -> None:
    trainer = tiny(corpus)
    folder = save_checkpoint(trainer, tmp_path / "run")
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="model.safetensors: the file is damaged"):
        resume_trainer(tmp_path / "run")
    (folder / "trainer.json").write_text('{"format": "transformer-explorer-tr')
    with pytest.raises(CheckpointError, match="trainer.json: damaged"):
        load_checkpoint_model(tmp_path / "run")
    with pytest.raises(CheckpointError, match="no such folder"):
        resume_trainer(tmp_path / "nowhere")


def test_a_crash_mid_write_keeps_the_last_good_checkpoint(corpus, tmp_path, monkeypatch) -> None:
    trainer = tiny(corpus)
    it = trainer.steps()
    next(it)
    save_checkpoint(trainer, tmp_path / "run")
    next(it)

    def crash(trainer, folder: Path) -> None:
        (folder / "model.safetensors").write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(ckpt, "_write", crash)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(trainer, tmp_path / "run")
    names = sorted(p.name for p in (tmp_path / "run").iterdir() if p.name != ".lock")
    assert names == ["checkpoint"]
    monkeypatch.undo()
    assert resume_trainer(tmp_path / "run").step == 1


def test_two_runs_cannot_write_one_folder(corpus, tmp_path) -> None:
    with RunLock(tmp_path / "run"):
        with pytest.raises(RunLocked, match="already used"):
            RunLock(tmp_path / "run").acquire()
        with pytest.raises(RunLocked, match="already used"):
            RunLock(tmp_path / "run" / ".." / "run").acquire()  # the same folder, spelt again
        assert save_checkpoint(tiny(corpus), tmp_path / "other").is_dir()  # another: fine
    other = tmp_path / "left"
    other.mkdir()  # a lock file left by a killed run is only a file: the lock is the OS's
    (other / ".lock").write_text(json.dumps({"pid": os.getppid(), "host": os.uname().nodename}))
    assert save_checkpoint(tiny(corpus), other).is_dir()
