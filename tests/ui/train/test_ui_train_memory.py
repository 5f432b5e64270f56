"""Flat memory while the window trains (issue 26): each weight snapshot the views are
shown hands the heap's freed memory back, as a pause in typing does."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

from explorer.ui.train import worker  # noqa: E402
from explorer.ui.train.panel import TrainPanel  # noqa: E402


def test_each_snapshot_hands_freed_memory_back(qtbot, tmp_path: Path, monkeypatch) -> None:
    trims: list[int] = []
    monkeypatch.setattr(worker.allocator, "trim", lambda: trims.append(1) or True)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat on the mat.\n" * 200, encoding="utf-8")
    panel = TrainPanel(runs_dir=tmp_path / "runs", snapshot_interval_s=0.2)
    qtbot.addWidget(panel)
    panel._ask = lambda title, text: True
    panel.open_data_file(corpus)
    panel.size_box.setCurrentIndex(0)  # tiny
    panel.batch_spin.setValue(4)
    panel.steps_spin.setValue(1_000_000)
    panel.device_box.setCurrentText("cpu")
    snapshots: list = []
    panel.weights_updated.connect(snapshots.append)
    with qtbot.waitSignal(panel.training_started, timeout=30_000):
        panel.start()
    qtbot.waitUntil(lambda: len(snapshots) >= 2, timeout=60_000)
    panel.stop()
    panel.wait(10_000)
    assert len(trims) >= 2
