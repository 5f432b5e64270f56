"""Following a run another process writes: the Train tab's curves, rate and ETA follow its
metrics.jsonl, each new checkpoint goes to the inspector, a half-written line, a deleted
folder and a restart give messages (never a crash), and nothing is written into the folder."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from explorer.train import TrainConfig, new_trainer, save_checkpoint
from explorer.train.progress import MetricsLog
from explorer.ui.train.panel import TrainPanel

TIMEOUT = 60_000


def row(step: int, loss: float = 2.0) -> str:
    return json.dumps({"step": step, "loss": loss, "lr": 1e-3, "grad_norm": 1.0,
                       "tokens_per_s": 1500.0, "elapsed_s": step, "eta_s": 75.0,
                       "tokens": step * 10}) + "\n"


def listing(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*"))}


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.txt"
    path.write_text("the cat sat on the mat. a dog ran to the park.\n" * 150, encoding="utf-8")
    return path


def finished_run(corpus: Path, run: Path, steps: int = 6) -> Path:
    """A run folder as `transformer-explorer train` leaves it: metrics, checkpoint, snapshots."""
    cfg = TrainConfig(steps=steps, batch_size=4, lr=3e-3, val_every=0, device="cpu",
                      snapshot_every=3)
    trainer = new_trainer(corpus, cfg, "char", l_max=16, d_e=16, n_heads=2, n_layers=1)
    trainer.snapshot_dir = run
    log = MetricsLog(run / "metrics.jsonl")
    for r in trainer.steps():
        log.write(r)
    log.close()
    save_checkpoint(trainer, run)
    return run


@pytest.fixture
def panel(qtbot, tmp_path):
    p = TrainPanel(runs_dir=tmp_path / "runs")
    qtbot.addWidget(p)
    p.resize(1200, 800)
    p.show()
    yield p
    p.shutdown()


def test_follow_picks_up_new_lines_and_survives_a_truncated_line_and_a_deleted_folder(
        qtbot, panel, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    metrics = run / "metrics.jsonl"
    metrics.write_text(row(1, 3.0) + row(2, 2.8))
    assert panel.follow(run)
    qtbot.waitUntil(lambda: panel.form.curves.train.n == 2, timeout=TIMEOUT)
    assert not panel.form.start_button.isEnabled() and not panel.form.save_button.isEnabled()
    with metrics.open("a") as f:
        f.write(row(3, 2.5) + row(4, 2.2)[:20])  # step 4's line is half written
    qtbot.waitUntil(lambda: panel.form.curves.train.n == 3, timeout=TIMEOUT)
    assert list(panel.form.curves.train.y) == [3.0, 2.8, 2.5]
    assert "step 3" in panel.form.progress.format() and "1.5k tok/s" in panel.form.progress.format()
    assert "1:15 left" in panel.form.progress.format()  # the run's own ETA
    with metrics.open("a") as f:
        f.write(row(4, 2.2)[20:])
    qtbot.waitUntil(lambda: panel.form.curves.train.n == 4, timeout=TIMEOUT)
    shutil.rmtree(run)
    qtbot.waitUntil(lambda: "deleted" in panel.form.message.text(), timeout=TIMEOUT)
    assert panel.is_following() and panel.form.curves.train.n == 4  # what was shown stays
    run.mkdir()  # a new run in the same place: the curves start over
    (run / "metrics.jsonl").write_text(row(1, 3.3))
    qtbot.waitUntil(lambda: list(panel.form.curves.train.y) == [3.3], timeout=TIMEOUT)
    assert "back" in panel.form.message.text()


def test_a_restarted_run_redraws_its_curve(qtbot, panel, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    metrics = run / "metrics.jsonl"
    metrics.write_text(row(1, 3.0) + row(2, 2.8) + row(3, 2.6))
    panel.follow(run)
    qtbot.waitUntil(lambda: panel.form.curves.train.n == 3, timeout=TIMEOUT)
    with metrics.open("a") as f:  # resumed from step 1: steps 2 and 3 are trained again
        f.write(row(2, 2.7) + row(3, 2.4))
    qtbot.waitUntil(lambda: list(panel.form.curves.train.y) == [3.0, 2.7, 2.4], timeout=TIMEOUT)
    assert "restarted" in panel.form.message.text()


def test_following_a_folder_that_is_no_run_says_so(qtbot, panel, tmp_path):
    assert not panel.follow(tmp_path / "missing")
    assert "no such folder" in panel.form.message.text()
    (tmp_path / "empty").mkdir()
    assert not panel.follow(tmp_path / "empty")
    assert "not a run folder" in panel.form.message.text() and not panel.is_following()


def test_the_window_follows_a_run_another_process_writes_into_every_view(
        qtbot, open_window, corpus, tmp_path):
    run = tmp_path / "run"
    (run / "snapshots").mkdir(parents=True)  # a run folder before its first step
    window = open_window()
    assert window.hosting.follow_run(str(run))  # followed before anything is written
    assert window.tabs.currentWidget() is window.panel("Train").widget
    panel = window.panel("Train").view
    labels = []
    window.model_loaded.connect(labels.append)  # the run's model, first
    window.weights_loaded.connect(labels.append)  # then its new weights
    writer = subprocess.Popen(
        [sys.executable, "-m", "explorer", "train", "--data", str(corpus), "--out", str(run),
         "--steps", "40", "--batch-size", "4", "--d-e", "16", "--n-heads", "2",
         "--n-layers", "1", "--l-max", "16", "--device", "cpu", "--save-every", "20",
         "--val-every", "0", "--quiet"], stderr=subprocess.PIPE, text=True)
    try:
        qtbot.waitUntil(lambda: any("following run: step" in t for t in labels),
                        timeout=TIMEOUT)  # a checkpoint, loaded off the GUI thread
        assert window.session.cfg.d_e == 16  # the run's model is in the inspector
        qtbot.waitUntil(lambda: labels and labels[-1].endswith("following run: step 40"),
                        timeout=TIMEOUT)
        assert all("following run: step" in t for t in labels)
        assert writer.wait(TIMEOUT / 1000) == 0, writer.stderr.read()
        qtbot.waitUntil(lambda: panel.form.curves.train.n == 40, timeout=TIMEOUT)
        assert list(panel.form.curves.train.x) == list(range(1, 41))
        assert "40 steps" in panel.form.device_label.text() and "DTransformer" in \
            panel.form.device_label.text()
        qtbot.waitUntil(lambda: "finished" in panel.form.progress.format(), timeout=TIMEOUT)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()


def test_the_window_never_writes_into_a_followed_folder(qtbot, open_window, corpus,
                                                        tmp_path):
    run = finished_run(corpus, tmp_path / "run")
    before = listing(run)
    window = open_window(follow=str(run))  # transformer-explorer --follow DIR
    panel = window.panel("Train").view
    qtbot.waitUntil(lambda: "following run: step 6" in
                    (window.toolbars.model_label.property("full_text") or ""), timeout=TIMEOUT)
    panel.save_checkpoint()  # refused while following
    panel.start()
    panel.resume_from(run)
    assert not panel.is_training()
    window.close()
    assert listing(run) == before
