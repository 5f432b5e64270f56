"""The Train panel: train a small transformer live and watch it learn.

API (the window adds it as a "Train" tab)::

    panel = TrainPanel(parent=None, runs_dir=None, snapshot_interval_s=3.0)

``runs_dir``: where each run gets its folder (checkpoint + metrics.jsonl); default the
app-data folder's ``runs/``. Signals:

- ``weights_updated(object)``: an ``explorer.train.Snapshot`` (``.model`` a CPU copy in
  eval mode, ``.tokenizer``, ``.step``, ``.task``, ``.sample``) every
  ``snapshot_interval_s`` seconds and at the end, so the inspector can re-render its view.
- ``training_started()``, ``training_finished(str)`` ("done" | "stopped" | "failed").
- ``checkpoint_saved(str)`` the checkpoint folder; ``error_occurred(str)`` a message
  also shown in the panel.

Methods: ``start()``, ``pause()``, ``resume()``, ``stop()`` (saves), ``save_checkpoint()``,
``open_data_file(path)``, ``resume_from(path)``, ``is_training()``, ``confirm_close()``
(ask, then stop and save; the window calls it from its closeEvent), ``wait(ms)``.
Training runs on a worker QThread; the GUI thread only draws, at most ~30 times a second.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QStandardPaths, Qt, QThread, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QMessageBox,
    QWidget,
)

from explorer.train import (
    Snapshot,
    TrainControl,
    Trainer,
    save_checkpoint,
)
from explorer.train.devices import precision_label
from explorer.train.options import RunPlan, plan_run, resume_run
from explorer.train.progress import format_duration, format_rate
from explorer.ui.train.follow import FollowingPanel
from explorer.ui.train.layout import MODEL_SIZES, OPEN_FILE, TrainPanelLayout
from explorer.ui.train.worker import TrainWorker
from explorer.ui.widgets.export_parts import Caption, ViewParts, curve_series

REDRAW_MS = 33
CLOSE_WAIT_MS = 300  # a run that ends this fast closes the window at once


class TrainPanel(FollowingPanel, TrainPanelLayout, QWidget):
    """Data, task, size and optimiser choices; Start/Pause/Stop; live curves and samples."""

    weights_updated = Signal(object)
    training_started = Signal()
    training_finished = Signal(str)
    checkpoint_saved = Signal(str)
    error_occurred = Signal(str)
    close_ready = Signal()  # a close that waited for the run to stop and save may go on
    run_followed = Signal(str)  # the run folder now followed ("" when following stopped)
    followed_checkpoint = Signal(str, int)  # (run folder, step): a new checkpoint there
    followed_snapshots = Signal(str)  # the followed run folder has new weight snapshots
    followed_snapshot = Signal(str, int)  # (file, step): a snapshot newer than its checkpoint

    def __init__(self, parent: QWidget | None = None, runs_dir: str | Path | None = None,
                 snapshot_interval_s: float = 3.0) -> None:
        super().__init__(parent)
        if runs_dir is None:
            base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
            runs_dir = Path(base or Path.home() / ".transformer-explorer") / "runs"
        self.runs_dir = Path(runs_dir)
        self.snapshot_interval_s = snapshot_interval_s
        self.trainer: Trainer | None = None
        self.run_dir: Path | None = None
        self._control = TrainControl()
        self._thread: QThread | None = None
        self._worker: TrainWorker | None = None
        self._last_val: float | None = None
        self._ask = self._ask_user
        self.close_pending = False  # the user closed the window; it closes once saved
        self._watch = None  # a RunWatch while following a run another process writes
        self._followed_text = ""
        self._build()
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self._on_tick)
        self._update_buttons()

    # -- data ------------------------------------------------------------------------
    def _on_data_chosen(self, index: int) -> None:
        if self.data_box.itemText(index) != OPEN_FILE:
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open a UTF-8 text file", "",
                                              "Text files (*.txt *.tsv *.csv);;All files (*)")
        if path:
            self.open_data_file(path)
        else:
            self.data_box.setCurrentIndex(max(0, index - 1))

    def open_data_file(self, path: str | Path) -> None:
        """Use a text file as data (it is read and checked when training starts)."""
        path = str(path)
        if self.data_box.findText(path) < 0:
            self.data_box.insertItem(self.data_box.count() - 1, path)
        self.data_box.setCurrentIndex(self.data_box.findText(path))

    # -- state -----------------------------------------------------------------------
    def is_training(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    def _update_buttons(self) -> None:
        running = self.is_training()
        following = self.is_following()  # read-only: nothing may start or save
        for w in (self.start_button, self.resume_button, self.data_box, self.task_box,
                  self.size_box, self.tokenizer_box, self.batch_spin, self.lr_spin,
                  self.steps_spin, self.device_box, self.precision_box, self.snapshot_spin):
            w.setEnabled(not running and not following)
        self.pause_button.setEnabled(running)
        self.pause_button.setText("Resume" if self._control.paused else "Pause")
        self.stop_button.setEnabled(running)
        self.save_button.setEnabled(self.trainer is not None and not following)
        self.follow_button.setEnabled(not running)
        self.follow_button.setText("Stop following" if following else "Follow a run…")

    def _show_message(self, text: str, error: bool = True) -> None:
        color = "#b00020" if error else "#205020"
        size = self.font().pointSize()
        self.message.setStyleSheet(f"color: {color}; font-weight: bold; font-size: {size}pt")
        self.message.setText(text)
        if error and text:
            self.error_occurred.emit(text)

    def _show_oom_actions(self, visible: bool) -> None:
        self.smaller_button.setVisible(visible)
        self.cpu_button.setVisible(visible)

    # -- running ---------------------------------------------------------------------
    def chosen_options(self) -> dict:
        """The training options the tab's controls set (``explorer.train.options``
        names); every other option keeps its default."""
        steps = self.steps_spin.value()
        return {"task": self.task_box.currentData(), "steps": steps,
                "batch_size": self.batch_spin.value(), "lr": self.lr_spin.value(),
                "val_every": max(10, min(200, steps // 50)),
                "device": self.device_box.currentText(),
                "precision": self.precision_box.currentData(),
                "snapshot_every": self.snapshot_spin.value(),
                "data": self.data_box.currentText(),
                "tokenizer": self.tokenizer_box.currentText(),
                **MODEL_SIZES[self.size_box.currentText()]}

    def start(self) -> None:
        """Start a new run with the chosen settings."""
        if self.is_training() or self.is_following():
            return
        data = self.data_box.currentText()
        if not data or data == OPEN_FILE:
            self._show_message("Choose a data set or open a text file first.")
            return
        try:
            plan = plan_run(None, self.chosen_options())
        except ValueError as exc:
            self._show_message(str(exc))
            return
        self.curves.reset()
        self._launch(plan.new_trainer, self._new_run_dir(plan.config.task))

    def _new_run_dir(self, task: str) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        run_dir = self.runs_dir / f"{stamp}-{task}"
        n = 1
        while run_dir.exists():
            n += 1
            run_dir = self.runs_dir / f"{stamp}-{task}-{n}"
        return run_dir

    def start_preset(self, options: dict) -> None:
        """Start a run of a named preset (``{"preset": "induction", "steps": 400}``: the
        options of ``transformer-explorer train``), e.g. the training a scene asks for."""
        if self.is_training() or self.is_following():
            self._show_message("A run is already shown here: stop it before starting another.")
            return
        try:
            plan = plan_run(options.get("preset"), options)
            if not plan.data:
                raise ValueError("the training asked for names no data set")
        except ValueError as exc:
            self._show_message(f"Cannot start the training: {exc}")
            return
        self.show_plan(plan)
        self.curves.reset()
        self._launch(plan.new_trainer, self._new_run_dir(plan.config.task))

    def show_plan(self, plan: RunPlan) -> None:
        """Set the controls that show part of ``plan`` to its values."""
        config = plan.config
        for spin, value in ((self.steps_spin, config.steps), (self.batch_spin, config.batch_size),
                            (self.lr_spin, config.lr),
                            (self.snapshot_spin, config.snapshot_every)):
            spin.setValue(value)
        if self.data_box.findText(str(plan.data)) >= 0:
            self.data_box.setCurrentText(str(plan.data))

    def resume_from(self, path: str | Path) -> None:
        """Continue the run saved in ``path`` (its curves continue too)."""
        if self.is_training() or self.is_following():
            return
        path = Path(path)
        self._launch(lambda control: resume_run(path, {}, control)[0], path)

    def _launch(self, make, run_dir: Path, trainer: Trainer | None = None) -> None:
        self._show_message("")
        self._show_oom_actions(False)
        self.run_dir = run_dir
        self._control = TrainControl()
        self._last_val = None
        self.progress.setFormat("preparing data, tokenizer and model…")
        self.progress.setRange(0, 0)
        worker = TrainWorker(make, run_dir, self._control, self.snapshot_interval_s)
        worker.trainer = trainer
        thread = QThread(self)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.prepared.connect(self._on_prepared)
        worker.snapshot_taken.connect(self._on_snapshot)
        worker.checkpoint_saved.connect(self._on_checkpoint_saved)
        worker.failed.connect(self._on_failed)
        worker.finished.connect(self._on_finished)
        worker.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        self._worker, self._thread = worker, thread
        thread.start()
        self._timer.start()
        self._update_buttons()
        self.training_started.emit()

    def pause(self) -> None:
        if self.is_training():
            self._control.pause()
            self.progress.setFormat(self.progress.format() + " · paused")
            self._update_buttons()

    def resume(self) -> None:
        if self.is_training():
            self._control.resume()
            self._update_buttons()

    def _on_pause_clicked(self) -> None:
        self.resume() if self._control.paused else self.pause()

    def stop(self) -> None:
        """Stop after the current step; the run is saved to its folder."""
        if self.is_training():
            self._control.stop()

    def wait(self, ms: int = 5000) -> bool:
        """Block until the worker thread has ended (for closing and tests)."""
        return self._thread.wait(ms) if self._thread is not None else True

    def save_checkpoint(self, path: str | Path | None = None) -> None:
        """Save now (between two steps, also while paused) to ``path`` or the run folder."""
        target = Path(path) if path else self.run_dir
        if self.is_following():
            return  # the window never writes into a followed run
        if self.is_training() and self._worker is not None:
            self._worker.save_now(target)
        elif self.trainer is not None and target is not None:
            try:
                self._on_checkpoint_saved(str(save_checkpoint(self.trainer, target)))
            except (OSError, ValueError) as exc:
                self._show_message(f"could not save the checkpoint: {exc}")

    def _on_save_clicked(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Save the checkpoint into a folder",
                                                str(self.run_dir or self.runs_dir))
        if path:
            self.save_checkpoint(path)

    def _on_resume_clicked(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Resume the run in a folder",
                                                str(self.runs_dir))
        if path:
            self.resume_from(path)

    def _continue_after_oom(self, smaller: bool = False, cpu: bool = False) -> None:
        trainer = self.trainer
        if trainer is None or self.is_training():
            return
        try:
            if smaller:
                trainer.config.batch_size = max(1, trainer.config.batch_size // 2)
                self.batch_spin.setValue(trainer.config.batch_size)
            if cpu:
                trainer.to("cpu")
        except (RuntimeError, ValueError) as exc:
            self._show_message(str(exc))
            return
        self._launch(lambda _control: trainer, self.run_dir or self.runs_dir / "run", trainer)

    # -- worker signals (queued onto the GUI thread) ---------------------------------
    @staticmethod
    def _precision_text(trainer: Trainer) -> str:
        label = precision_label(trainer.precision, trainer.device, trainer.config.tf32)
        note = getattr(trainer, "precision_note", "")
        return f"{label}" + (f" ({note})" if note else "")

    def _on_prepared(self, trainer: Trainer) -> None:
        self.trainer = trainer
        self.progress.setRange(0, trainer.config.steps)
        self.progress.setValue(trainer.step)
        cfg = trainer.model.cfg
        self.device_label.setText(
            f"{cfg.algorithm_name} · {trainer.model.num_parameters():,} parameters · "
            f"on {trainer.device_label} · {self._precision_text(trainer)}\n"
            f"{trainer.data.describe()}"
        )
        history = self._worker.history_before if self._worker is not None else None
        if history is not None and history.step:
            self.curves.load_history(history)
        if trainer.info.get("warning"):
            self._show_message(trainer.info["warning"], error=False)
        self._update_buttons()

    def _on_tick(self) -> None:
        worker = self._worker
        if worker is None:
            return
        batch = []
        while worker.results:
            batch.append(worker.results.popleft())
        if batch:
            self.curves.append(batch)
            r = batch[-1]
            self._last_val = next((b.val_loss for b in reversed(batch)
                                   if b.val_loss is not None), self._last_val)
            total = self.trainer.config.steps if self.trainer else r.step
            val = f" · val {self._last_val:.3f}" if self._last_val is not None else ""
            self.progress.setValue(r.step)
            self.progress.setFormat(
                f"step {r.step:,} / {total:,} · loss {r.loss:.3f}{val} · "
                f"{format_rate(r.tokens_per_s)} · {format_duration(r.eta_s)} left"
            )
        self.curves.redraw()
        if not self.is_training() and not worker.results:
            self._timer.stop()

    def _on_snapshot(self, snapshot: Snapshot | None) -> None:
        if snapshot is None:
            return
        self.sample_view.setPlainText(f"step {snapshot.step}: {snapshot.sample}")
        self.weights_updated.emit(snapshot)

    def _on_checkpoint_saved(self, path: str) -> None:
        self._show_message(f"checkpoint saved: {path}", error=False)
        self.checkpoint_saved.emit(path)

    def _on_failed(self, kind: str, message: str) -> None:
        if kind == "warning":
            self._show_message(message, error=False)
            return
        self._show_message(message)
        self._show_oom_actions(kind == "oom")

    def _on_finished(self, reason: str) -> None:
        if self._thread is not None:
            self._thread.wait(2000)
        self._on_tick()
        if self.progress.maximum() == 0:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.progress.setFormat("not started")
        elif reason != "failed":
            self.progress.setFormat(self.progress.format().split(" · ")[0] + f" · {reason}")
        self._update_buttons()
        self.training_finished.emit(reason)
        if self.close_pending:
            self.close_pending = False
            self.close_ready.emit()

    # -- closing ---------------------------------------------------------------------
    def _ask_user(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(self, title, text,
                                      QMessageBox.StandardButton.Yes
                                      | QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Yes

    def confirm_close(self) -> bool:
        """May the window close now? Not training: yes. Training: ask; on Yes the run is
        asked to stop and save. If it ends within a moment the answer is yes; otherwise
        (a long step, data still being prepared) the answer is no for now, the panel says
        what it is waiting for, and ``close_ready`` is emitted once the run is saved, so
        the window closes then: the GUI never blocks on a step, however long."""
        if not self.is_training():
            return True
        if not self.close_pending:
            if not self._ask("Training is running",
                             "Stop training and save a checkpoint before closing?"):
                return False
            self.close_pending = True
            self._control.stop()
        if self.wait(CLOSE_WAIT_MS):
            self.close_pending = False
            self._on_tick()
            return True
        step = self.trainer.step if self.trainer is not None else 0
        where = f"after step {step:,}" if self.trainer is not None else "while preparing the data"
        self._show_message(f"Closing: stopping the run {where} and saving it to {self.run_dir}. "
                           "The window closes by itself when the run is saved.", error=False)
        self.progress.setFormat("stopping and saving before the window closes…")
        return False

    def shutdown(self) -> None:
        self.stop_following()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        if self.confirm_close():
            event.accept()
        else:
            event.ignore()

    def export_parts(self) -> ViewParts:
        """Exporting the Train tab exports its loss and learning-rate curves."""
        series = curve_series(self.curves)
        return ViewParts(self.curves, Caption("Training curves") if series else None, None,
                         series)


