"""Weight snapshots every N steps: written atomically, listed by step, loadable as models."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from explorer.train import TrainConfig, new_trainer
from explorer.train.snapshots import (
    list_snapshots,
    load_snapshot,
    snapshot_dir,
    snapshot_tokenizer,
)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.txt"
    path.write_text("the cat sat on the mat. a dog ran to the park.\n" * 150, encoding="utf-8")
    return path


def tiny(corpus: Path, steps: int = 12, every: int = 4):
    cfg = TrainConfig(steps=steps, batch_size=8, lr=3e-3, val_every=0, device="cpu",
                      snapshot_every=every)
    return new_trainer(corpus, cfg, "char", l_max=32, d_e=32, n_heads=2, n_layers=1)


def test_snapshots_are_written_every_n_steps_and_load_as_the_model_then(corpus, tmp_path):
    trainer = tiny(corpus)
    trainer.snapshot_dir = tmp_path / "run"
    weights = {}
    for _ in trainer.steps():
        if trainer.step % 4 == 0:
            weights[trainer.step] = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    snaps = list_snapshots(tmp_path / "run")
    assert [s.step for s in snaps] == [0, 4, 8, 12]
    assert snaps[1].path.name == "step-00000004.safetensors"
    folder = snapshot_dir(tmp_path / "run")
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.json", "step-00000000.safetensors", "step-00000004.safetensors",
        "step-00000008.safetensors", "step-00000012.safetensors", "tokenizer.json"]
    for snap in snaps[1:]:
        model = load_snapshot(snap.path)
        for name, value in model.state_dict().items():
            torch.testing.assert_close(value, weights[snap.step][name])
    first, last = load_snapshot(snaps[0].path), load_snapshot(snaps[-1].path)
    assert any(not torch.equal(a, b) for a, b in
               zip(first.state_dict().values(), last.state_dict().values()))
    tok = snapshot_tokenizer(tmp_path / "run")
    assert tok.decode(tok.encode("the cat").ids) == "the cat"


def test_no_snapshots_without_the_option_or_a_folder(corpus, tmp_path):
    trainer = tiny(corpus, every=0)
    trainer.snapshot_dir = tmp_path / "run"
    list(trainer.steps())
    assert not (tmp_path / "run").exists()
    assert list_snapshots(tmp_path / "nowhere") == []


def test_a_snapshot_that_cannot_be_written_does_not_stop_the_run(corpus, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    trainer = tiny(corpus, steps=4, every=2)
    trainer.snapshot_dir = blocker  # snapshots/ cannot be made inside a file
    list(trainer.steps())
    assert trainer.step == 4 and "not written" in trainer.snapshot_note


def test_the_train_command_takes_snapshot_every(corpus, tmp_path):
    out = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "explorer", "train", "--data", str(corpus), "--out", str(out),
         "--steps", "6", "--batch-size", "4", "--d-e", "16", "--n-heads", "2", "--n-layers",
         "1", "--l-max", "16", "--device", "cpu", "--snapshot-every", "3", "--quiet"],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert [s.step for s in list_snapshots(out)] == [0, 3, 6]
    assert load_snapshot(list_snapshots(out)[-1].path).cfg.d_e == 16
