"""The Train panel's worker: runs ``Trainer.steps`` on a QThread, never on the GUI thread.

Step results go into a thread-safe queue that the panel drains at screen rate (no
signal per step). Every ``snapshot_interval_s`` the worker copies the weights and makes a
sample between two steps and emits ``snapshot_taken``. Errors become messages.
"""

from __future__ import annotations

import time
import traceback
from collections import deque
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from explorer.train import (
    History,
    OutOfMemory,
    RunLock,
    RunLocked,
    StepResult,
    StopRequested,
    TrainControl,
    Trainer,
    TrainingDiverged,
    after_divergence,
    save_run,
    take_snapshot,
)
from explorer.train.checkpoint import truncate_metrics
from explorer.train.progress import MetricsLog


class TrainWorker(QObject):
    """Builds (or takes) a Trainer and trains it; lives on a worker QThread."""

    prepared = Signal(object)  # the Trainer, once data, tokenizer and model are ready
    snapshot_taken = Signal(object)  # explorer.train.Snapshot
    checkpoint_saved = Signal(str)
    failed = Signal(str, str)  # (kind: "error" | "diverged" | "oom", message)
    finished = Signal(str)  # why: "done" | "stopped" | "failed"

    def __init__(
        self,
        make_trainer: Callable[[TrainControl], Trainer],
        run_dir: Path,
        control: TrainControl,
        snapshot_interval_s: float = 3.0,
    ) -> None:
        super().__init__()
        self.make_trainer = make_trainer
        self.run_dir = Path(run_dir)
        self.control = control
        self.snapshot_interval_s = snapshot_interval_s
        self.results: deque[StepResult] = deque()
        self.trainer: Trainer | None = None
        self.save_on_stop = True
        self.history_before = History()

    def save_now(self, path: Path | None = None) -> None:
        """Ask for a checkpoint at the next pause point (works while paused)."""
        self.control.call_between_steps(lambda: self._save(path))

    def _save(self, path: Path | None = None) -> None:
        """Save into the run folder, or (a full or read-only disk) a rescue folder that the
        message names; the run stays in memory whatever happens."""
        if self.trainer is None or self.trainer.step == 0:
            return
        try:
            outcome = save_run(self.trainer, path or self.run_dir)
        except ValueError as exc:
            self.failed.emit("error", f"could not save the checkpoint: {exc}")
            return
        if outcome.ok:
            self.checkpoint_saved.emit(str(outcome.path))
        if outcome.rescued or not outcome.ok:
            self.failed.emit("warning" if outcome.ok else "error", outcome.message)

    def _snapshot(self) -> None:
        if self.trainer is None or self.trainer.step == 0:
            return
        try:
            self.snapshot_taken.emit(take_snapshot(self.trainer, seed=self.trainer.step))
        except (ValueError, RuntimeError) as exc:  # a sample must never stop training
            self.snapshot_taken.emit(None)
            self.failed.emit("warning", f"no sample this time: {exc}")

    def run(self) -> None:
        """The thread's entry point."""
        lock = None
        log = None
        reason = "failed"
        try:
            lock = RunLock(self.run_dir).acquire()
            # data, tokenizer and model are prepared here; a stop request ends it early
            self.trainer = self.trainer or self.make_trainer(self.control)
            self.trainer.snapshot_dir = self.run_dir  # config.snapshot_every > 0: snapshots
            if self.trainer.step:  # resumed: the log keeps only the steps the checkpoint has
                truncate_metrics(self.run_dir, self.trainer.step)
            log = MetricsLog(self.run_dir / "metrics.jsonl")
            h = self.trainer.history  # copied now: the panel draws it before new steps
            self.history_before = History(list(h.step), list(h.loss), list(h.lr),
                                          list(h.grad_norm), list(h.val_step), list(h.val_loss))
            self.prepared.emit(self.trainer)
            last_snapshot = time.monotonic()
            for result in self.trainer.steps(self.control):
                self.results.append(result)
                log.write(result)
                if time.monotonic() - last_snapshot > self.snapshot_interval_s:
                    self._snapshot()
                    last_snapshot = time.monotonic()
            self._snapshot()
            reason = "done" if self.trainer.done else "stopped"
            if self.save_on_stop:
                self._save()
        except StopRequested:
            reason = "stopped"  # stopped while the data or the model was being prepared
            if self.trainer is not None and self.save_on_stop:
                self._save()
        except TrainingDiverged as exc:
            kept = after_divergence(self.trainer, self.run_dir) if self.trainer else None
            self.failed.emit("diverged", f"{exc} {kept.message}" if kept else str(exc))
        except OutOfMemory as exc:
            self._save()
            self.failed.emit("oom", str(exc))
        except RunLocked as exc:
            self.failed.emit("error", str(exc))
        except (ValueError, OSError) as exc:
            self.failed.emit("error", str(exc))
        except Exception as exc:  # noqa: BLE001 - shown in the panel, never only a traceback
            traceback.print_exc()
            self.failed.emit("error", f"training failed: {type(exc).__name__}: {exc}")
        finally:
            if log is not None:
                log.close()
            if lock is not None:
                lock.release()
            self.finished.emit(reason)
