"""The Train panel: Start, the curves grow, samples and snapshots arrive, Stop saves."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import time  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

from explorer.train import Snapshot  # noqa: E402
from explorer.ui.train.panel import TrainPanel  # noqa: E402


@pytest.fixture
def panel(qtbot, tmp_path: Path) -> TrainPanel:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat on the mat.\na dog ran to the park.\n" * 100, encoding="utf-8")
    widget = TrainPanel(runs_dir=tmp_path / "runs", snapshot_interval_s=0.3)
    qtbot.addWidget(widget)
    widget.ask = lambda title, text: True  # no modal question in tests
    widget.open_data_file(corpus)
    widget.form.size_box.setCurrentIndex(0)  # tiny
    widget.form.batch_spin.setValue(8)
    widget.form.lr_spin.setValue(3e-3)
    widget.form.device_box.setCurrentText("cpu")
    widget.resize(1200, 800)
    widget.show()
    yield widget
    if widget.is_training():
        widget.stop()
        widget.wait(5000)


def test_start_curves_grow_stop_saves_and_window_stays_responsive(panel, qtbot) -> None:
    panel.form.steps_spin.setValue(1_000_000)
    snapshots: list[Snapshot] = []
    panel.weights_updated.connect(snapshots.append)
    with qtbot.waitSignal(panel.training_started, timeout=30_000):
        qtbot.mouseClick(panel.form.start_button, _left())
    qtbot.waitUntil(lambda: panel.form.curves.train.n > 20, timeout=30_000)
    first = panel.form.curves.train.n
    # the GUI thread keeps ticking: a 10 ms timer fires often while training runs
    ticks: list[float] = []
    from PySide6.QtCore import QTimer

    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(10)
    qtbot.waitUntil(lambda: len(ticks) > 10, timeout=10_000)  # a busy machine is slower
    timer.stop()
    assert max(b - a for a, b in zip(ticks, ticks[1:])) < 2.0
    qtbot.waitUntil(lambda: panel.form.curves.train.n > first, timeout=30_000)  # the curve grows
    panel.form.curves.redraw()
    assert panel.form.curves.loss_plot.viewRange()[0][1] > 5  # and the view follows it
    qtbot.waitUntil(lambda: panel.form.curves.val.n >= 1, timeout=30_000)
    qtbot.waitUntil(lambda: len(snapshots) >= 1, timeout=30_000)
    assert snapshots[0].model.cfg.arch == "decoder" and not snapshots[0].model.training
    assert "step" in panel.form.sample_view.toPlainText()
    assert "tok/s" in panel.form.progress.format() and "left" in panel.form.progress.format()

    panel.pause()
    qtbot.wait(500)
    paused_at = panel.trainer.step
    qtbot.wait(200)
    assert panel.trainer.step == paused_at and panel.form.pause_button.text() == "Resume"
    panel.resume()
    qtbot.waitUntil(lambda: panel.trainer.step > paused_at, timeout=30_000)

    with qtbot.waitSignal(panel.training_finished, timeout=30_000) as finished:
        qtbot.mouseClick(panel.form.stop_button, _left())
    assert finished.args == ["stopped"]
    assert (panel.run_dir / "checkpoint" / "model.safetensors").is_file()
    assert (panel.run_dir / "metrics.jsonl").is_file()
    assert panel.form.start_button.isEnabled() and not panel.form.stop_button.isEnabled()


def test_panel_guards_none_against_pyside_refcount_bug(panel) -> None:
    import sys

    if sys.version_info < (3, 12):
        assert sys.getrefcount(None) >= 1 << 40


def _left():
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


def test_errors_appear_in_the_panel(panel, qtbot, tmp_path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe\x00binary")
    panel.open_data_file(bad)
    errors: list[str] = []
    panel.error_occurred.connect(errors.append)
    with qtbot.waitSignal(panel.training_finished, timeout=30_000):
        panel.start()
    assert "not a text file" in panel.form.message.text() and errors


def test_nan_and_oom_are_messages_with_a_way_on(panel, qtbot, monkeypatch) -> None:
    from explorer.train import loop

    panel.form.steps_spin.setValue(30)
    monkeypatch.setattr(loop, "batch_loss", lambda *a, **k: torch.tensor(float("nan"),
                                                                         requires_grad=True))
    with qtbot.waitSignal(panel.training_finished, timeout=30_000):
        panel.start()
    assert "loss became nan" in panel.form.message.text()
    monkeypatch.undo()

    def oom(self, lr):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(loop.Trainer, "_train_step", oom)
    with qtbot.waitSignal(panel.training_finished, timeout=30_000):
        panel.start()
    assert "ran out of memory" in panel.form.message.text()
    assert panel.form.smaller_button.isVisibleTo(panel) and panel.form.cpu_button.isVisibleTo(panel)
    monkeypatch.undo()
    with qtbot.waitSignal(panel.training_finished, timeout=30_000) as finished:
        qtbot.mouseClick(panel.form.smaller_button, _left())
    assert finished.args == ["done"] and panel.trainer.config.batch_size == 4


def test_closing_while_training_asks_then_stops_and_saves(panel, qtbot) -> None:
    panel.form.steps_spin.setValue(1_000_000)
    panel.start()
    qtbot.waitUntil(lambda: panel.form.curves.train.n > 5, timeout=30_000)
    panel.ask = lambda title, text: False
    assert not panel.confirm_close() and panel.is_training()
    panel.ask = lambda title, text: True
    assert panel.confirm_close()
    assert not panel.is_training()
    assert (panel.run_dir / "checkpoint" / "trainer.json").is_file()


def test_resume_from_a_checkpoint_continues_the_curve(panel, qtbot) -> None:
    panel.form.steps_spin.setValue(30)
    with qtbot.waitSignal(panel.training_finished, timeout=30_000):
        panel.start()
    run_dir = panel.run_dir
    assert panel.form.curves.train.n == 30
    from explorer.train import resume_trainer, save_checkpoint

    longer = resume_trainer(run_dir, steps=45)  # extend the saved run by 15 steps
    save_checkpoint(longer, run_dir)
    with qtbot.waitSignal(panel.training_finished, timeout=30_000) as finished:
        panel.resume_from(run_dir)
    assert finished.args == ["done"]
    assert panel.trainer.step == 45
    assert list(panel.form.curves.train.x) == list(range(1, 46))  # old points once, then new ones


def test_the_precision_chosen_is_used_and_shown(panel, qtbot) -> None:
    panel.form.steps_spin.setValue(3)
    panel.form.precision_box.setCurrentIndex(panel.form.precision_box.findData("fp32"))
    with qtbot.waitSignal(panel.training_finished, timeout=30_000):
        panel.start()
    assert panel.trainer.config.precision == "fp32" and panel.trainer.precision == "fp32"
    assert "fp32" in panel.form.device_label.text()
