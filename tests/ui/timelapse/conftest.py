"""What the Time-lapse tests share: a run with weight snapshots, and the tab's view."""

from __future__ import annotations

from pathlib import Path

import pytest

from explorer.train import TrainConfig, new_trainer
from explorer.train.progress import MetricsLog
from explorer.ui.timelapse.view import TimeLapseView


def snapshot_run(folder: Path, line: str, repeats: int) -> Path:
    """``folder/run``: 12 steps of a tiny two-layer decoder on ``line`` ``repeats`` times, a weight
    snapshot every 4 steps (0, 4, 8, 12) and the metrics."""
    corpus = folder / "corpus.txt"
    corpus.write_text(line * repeats)
    cfg = TrainConfig(steps=12, batch_size=8, lr=1e-2, val_every=0, device="cpu",
                      snapshot_every=4)
    trainer = new_trainer(corpus, cfg, "char", l_max=32, d_e=16, n_heads=2, n_layers=2)
    trainer.snapshot_dir = folder / "run"
    log = MetricsLog(folder / "run" / "metrics.jsonl")
    for r in trainer.steps():
        log.write(r)
    log.close()
    return folder / "run"


@pytest.fixture
def view(qtbot):
    v = TimeLapseView()
    qtbot.addWidget(v)
    v.resize(1280, 720)
    v.show()
    yield v
    v.shutdown()
