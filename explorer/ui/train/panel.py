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

The panel owns its parts: ``form`` (``layout.TrainForm``: the controls, curves, progress
and messages, laid out in the panel) and ``following`` (``follow.RunFollowing``: a run
another process writes, shown read-only; ``follow(path)``, ``stop_following()`` and
``is_following()`` pass to it). ``ask(title, text)`` puts a yes/no question (tests
replace it).
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QStandardPaths, Qt, QThread, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QWidget,
)

from explorer.train import (
    Snapshot,
    TrainControl,
    Trainer,
    save_checkpoint,
)
from explorer.train.options import RunPlan, plan_run, resume_run
from explorer.ui.train.follow import RunFollowing
from explorer.ui.train.layout import MODEL_SIZES, OPEN_FILE, TrainForm, ask_user
from explorer.ui.train.worker import TrainWorker
from explorer.ui.widgets.export_parts import Caption, ViewParts, curve_series

REDRAW_MS = 33
CLOSE_WAIT_MS = 300  # a run that ends this fast closes the window at once


class TrainPanel(QWidget):
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
        self.ask = lambda title, text: ask_user(self, title, text)  # tests replace it
        self.close_pending = False  # the user closed the window; it closes once saved
        self.following = RunFollowing(self)  # a run another process writes, read-only
        self.form = TrainForm(self)  # the controls, curves and messages
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self._on_tick)
        self.update_buttons()

    # -- data ------------------------------------------------------------------------
    def open_data_file(self, path: str | Path) -> None:
        """Use a text file as data (it is read and checked when training starts)."""
        self.form.open_data_file(path)

    # -- following a run another process writes (``following``) ------------------------
    def follow(self, path: str | Path) -> bool:
        """Show the run in ``path`` live, read-only (``RunFollowing.follow``)."""
        return self.following.follow(path)

    def stop_following(self) -> None:
        self.following.stop()

    def is_following(self) -> bool:
        return self.following.is_following()

    # -- state -----------------------------------------------------------------------
    def is_training(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    def update_buttons(self) -> None:
        running = self.is_training()
        following = self.is_following()  # read-only: nothing may start or save
        f = self.form
        for w in (f.start_button, f.resume_button, f.data_box, f.task_box, f.size_box,
                  f.tokenizer_box, f.batch_spin, f.lr_spin, f.steps_spin, f.device_box,
                  f.precision_box, f.snapshot_spin):
            w.setEnabled(not running and not following)
        self.form.pause_button.setEnabled(running)
        self.form.pause_button.setText("Resume" if self._control.paused else "Pause")
        self.form.stop_button.setEnabled(running)
        self.form.save_button.setEnabled(self.trainer is not None and not following)
        self.form.follow_button.setEnabled(not running)
        self.form.follow_button.setText("Stop following" if following else "Follow a run…")

    def show_message(self, text: str, error: bool = True) -> None:
        color = "#b00020" if error else "#205020"
        size = self.font().pointSize()
        self.form.message.setStyleSheet(f"color: {color}; font-weight: bold; font-size: {size}pt")
        self.form.message.setText(text)
        if error and text:
            self.error_occurred.emit(text)

    # -- running ---------------------------------------------------------------------
    def chosen_options(self) -> dict:
        """The training options the tab's controls set (``explorer.train.options``
        names); every other option keeps its default."""
        steps = self.form.steps_spin.value()
        return {"task": self.form.task_box.currentData(), "steps": steps,
                "batch_size": self.form.batch_spin.value(), "lr": self.form.lr_spin.value(),
                "val_every": max(10, min(200, steps // 50)),
                "device": self.form.device_box.currentText(),
                "precision": self.form.precision_box.currentData(),
                "snapshot_every": self.form.snapshot_spin.value(),
                "data": self.form.data_box.currentText(),
                "tokenizer": self.form.tokenizer_box.currentText(),
                **MODEL_SIZES[self.form.size_box.currentText()]}

    def start(self) -> None:
        """Start a new run with the chosen settings."""
        if self.is_training() or self.is_following():
            return
        data = self.form.data_box.currentText()
        if not data or data == OPEN_FILE:
            self.show_message("Choose a data set or open a text file first.")
            return
        try:
            plan = plan_run(None, self.chosen_options())
        except ValueError as exc:
            self.show_message(str(exc))
            return
        self.form.curves.reset()
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
            self.show_message("A run is already shown here: stop it before starting another.")
            return
        try:
            plan = plan_run(options.get("preset"), options)
            if not plan.data:
                raise ValueError("the training asked for names no data set")
        except ValueError as exc:
            self.show_message(f"Cannot start the training: {exc}")
            return
        self.show_plan(plan)
        self.form.curves.reset()
        self._launch(plan.new_trainer, self._new_run_dir(plan.config.task))

    def show_plan(self, plan: RunPlan) -> None:
        """Set the controls that show part of ``plan`` to its values."""
        config = plan.config
        f = self.form
        for spin, value in ((f.steps_spin, config.steps), (f.batch_spin, config.batch_size),
                            (f.lr_spin, config.lr), (f.snapshot_spin, config.snapshot_every)):
            spin.setValue(value)
        if f.data_box.findText(str(plan.data)) >= 0:
            f.data_box.setCurrentText(str(plan.data))
        f.task_box.setCurrentIndex(max(0, f.task_box.findData(config.task)))
        f.tokenizer_box.setCurrentIndex(max(0, f.tokenizer_box.findText(str(plan.tokenizer))))

    def resume_from(self, path: str | Path) -> None:
        """Continue the run saved in ``path`` (its curves continue too)."""
        if self.is_training() or self.is_following():
            return
        path = Path(path)
        self._launch(lambda control: resume_run(path, {}, control)[0], path)

    def _launch(self, make, run_dir: Path, trainer: Trainer | None = None) -> None:
        self.show_message("")
        self.form.show_oom_actions(False)
        self.run_dir = run_dir
        self._control = TrainControl()
        self.form.last_val = None
        self.form.progress.setFormat("preparing data, tokenizer and model…")
        self.form.progress.setRange(0, 0)
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
        self.update_buttons()
        self.training_started.emit()

    def pause(self) -> None:
        if self.is_training():
            self._control.pause()
            self.form.progress.setFormat(self.form.progress.format() + " · paused")
            self.update_buttons()

    def resume(self) -> None:
        if self.is_training():
            self._control.resume()
            self.update_buttons()

    def toggle_pause(self) -> None:
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
                self.show_message(f"could not save the checkpoint: {exc}")

    def ask_save(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Save the checkpoint into a folder",
                                                str(self.run_dir or self.runs_dir))
        if path:
            self.save_checkpoint(path)

    def ask_resume(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Resume the run in a folder",
                                                str(self.runs_dir))
        if path:
            self.resume_from(path)

    def continue_after_oom(self, smaller: bool = False, cpu: bool = False) -> None:
        trainer = self.trainer
        if trainer is None or self.is_training():
            return
        try:
            if smaller:
                trainer.config.batch_size = max(1, trainer.config.batch_size // 2)
                self.form.batch_spin.setValue(trainer.config.batch_size)
            if cpu:
                trainer.to("cpu")
        except (RuntimeError, ValueError) as exc:
            self.show_message(str(exc))
            return
        self._launch(lambda _control: trainer, self.run_dir or self.runs_dir / "run", trainer)

    # -- worker signals (queued onto the GUI thread) ---------------------------------
    def _on_prepared(self, trainer: Trainer) -> None:
        self.trainer = trainer
        self.form.show_trainer(trainer)
        history = self._worker.history_before if self._worker is not None else None
        if history is not None and history.step:
            self.form.curves.load_history(history)
        if trainer.info.get("warning"):
            self.show_message(trainer.info["warning"], error=False)
        self.update_buttons()

    def _on_tick(self) -> None:
        worker = self._worker
        if worker is None:
            return
        batch = []
        while worker.results:
            batch.append(worker.results.popleft())
        if batch:
            self.form.add_results(batch)
            r = batch[-1]
            total = self.trainer.config.steps if self.trainer else r.step
            self.form.show_progress(r, total)
        self.form.curves.redraw()
        if not self.is_training() and not worker.results:
            self._timer.stop()

    def _on_snapshot(self, snapshot: Snapshot | None) -> None:
        if snapshot is None:
            return
        self.form.sample_view.setPlainText(f"step {snapshot.step}: {snapshot.sample}")
        self.weights_updated.emit(snapshot)

    def _on_checkpoint_saved(self, path: str) -> None:
        self.show_message(f"checkpoint saved: {path}", error=False)
        self.checkpoint_saved.emit(path)

    def _on_failed(self, kind: str, message: str) -> None:
        if kind == "warning":
            self.show_message(message, error=False)
            return
        self.show_message(message)
        self.form.show_oom_actions(kind == "oom")

    def _on_finished(self, reason: str) -> None:
        if self._thread is not None:
            self._thread.wait(2000)
        self._on_tick()
        self.form.show_finished(reason)
        self.update_buttons()
        self.training_finished.emit(reason)
        if self.close_pending:
            self.close_pending = False
            self.close_ready.emit()

    # -- closing ---------------------------------------------------------------------
    def confirm_close(self) -> bool:
        """May the window close now? Not training: yes. Training: ask; on Yes the run is
        asked to stop and save. If it ends within a moment the answer is yes; otherwise
        (a long step, data still being prepared) the answer is no for now, the panel says
        what it is waiting for, and ``close_ready`` is emitted once the run is saved, so
        the window closes then: the GUI never blocks on a step, however long."""
        if not self.is_training():
            return True
        if not self.close_pending:
            if not self.ask("Training is running",
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
        self.show_message(f"Closing: stopping the run {where} and saving it to {self.run_dir}. "
                          "The window closes by itself when the run is saved.", error=False)
        self.form.progress.setFormat("stopping and saving before the window closes…")
        return False

    def shutdown(self) -> None:
        self.stop_following()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt)
        self.form.fit(event.size().width())
        super().resizeEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        if self.confirm_close():
            event.accept()
        else:
            event.ignore()

    def export_parts(self) -> ViewParts:
        """Exporting the Train tab exports its loss and learning-rate curves."""
        series = curve_series(self.form.curves)
        return ViewParts(self.form.curves, Caption("Training curves") if series else None, None,
                         series)


