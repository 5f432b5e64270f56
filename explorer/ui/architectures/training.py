"""Train all three (issue 30 §4) from the Side by side tab: the bundled decoder, encoder and
encoder-decoder trained together (``explorer.train.together``) on a worker thread, their
losses on one plot in nats per predicted token, and the columns following the weights.

``TogetherWorker`` runs ``TrainTogether.steps`` (one step of each in turn) on a QThread;
step results go into a queue the box drains at screen rate, and every
``WEIGHTS_INTERVAL_S`` it copies the three models between two steps (``weights_ready``).
A folder that holds the three runs already is continued. A stop (the button, closing the
window) abandons the running step and saves each run folder."""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from explorer.train import (
    CheckpointError,
    OutOfMemory,
    RunLock,
    RunLocked,
    StopRequested,
    TrainControl,
    TrainingDiverged,
    find_checkpoint,
    take_snapshot,
)
from explorer.train.together import LOSS_LABEL, RUNS, TASK_NAMES, TrainTogether, run_folders

WEIGHTS_INTERVAL_S = 2.0  # how often the columns get the new weights
COLORS = {"decoder": "#1f77b4", "encoder": "#d62728", "encoder-decoder": "#2ca02c"}
STOP_WAIT_MS = 60_000  # closing the window: the longest wait for the three saves


def holds_runs(out: Path) -> bool:
    """Whether ``out`` holds the three runs (then they are continued)."""
    try:
        for folder in run_folders(out).values():
            find_checkpoint(folder)
    except CheckpointError:
        return False
    return True


class TogetherWorker(QObject):
    """Builds (or resumes) the three runs in ``out`` and trains them; lives on a QThread."""

    weights_ready = Signal(object)  # {arch: explorer.train.Snapshot}
    finished = Signal(str)  # what happened, one sentence

    def __init__(self, out: Path, control: TrainControl, given: dict[str, Any]) -> None:
        super().__init__()
        self.out, self.control, self.given = Path(out), control, given
        self.results: deque[tuple[str, int, float]] = deque()  # (arch, step, loss)
        self.together: TrainTogether | None = None

    def _weights(self) -> None:
        self.weights_ready.emit({arch: take_snapshot(t, with_sample=False)
                                 for arch, t in self.together.trainers.items()})

    def run(self) -> None:
        locks, message = [], ""
        try:
            for folder in run_folders(self.out).values():
                locks.append(RunLock(folder).acquire())
            build = TrainTogether.resume if holds_runs(self.out) else TrainTogether.new
            self.together = together = build(self.out, self.given, self.control)
            for arch, trainer in together.trainers.items():  # a resumed run's curve so far
                h = trainer.history
                self.results.extend((arch, s, v) for s, v in zip(h.step, h.loss))
            self._weights()
            last = time.monotonic()
            for arch, result in together.steps(self.control):
                self.results.append((arch, result.step, result.loss))
                if time.monotonic() - last > WEIGHTS_INTERVAL_S:
                    self._weights()
                    last = time.monotonic()
            self._weights()
            message = self._save("done" if together.done else "stopped")
        except StopRequested:
            message = "stopped before the first step: nothing to save"
        except (TrainingDiverged, OutOfMemory) as exc:
            message = f"{exc} " + self._save("the others stopped")
        except (RunLocked, CheckpointError, ValueError, OSError) as exc:
            message = f"could not train: {exc}"
        finally:
            for lock in locks:
                lock.release()
            self.finished.emit(message)

    def _save(self, how: str) -> str:
        if self.together is None:
            return ""
        problems = [f"{arch}: {s.message}" for arch, s in self.together.save().items()
                    if not s.ok or s.rescued]
        steps = ", ".join(f"{a} step {t.step}" for a, t in self.together.trainers.items())
        return (f"{how.capitalize()}: {steps}; each run saved in {self.out}/<arch> (open one "
                "with File ▸ Open, or press Train all three again to continue)"
                + ("; " + "; ".join(problems) if problems else ""))


class TogetherPlot(pg.PlotWidget):
    """The three losses on one plot, in nats per predicted token."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        item = self.getPlotItem()
        item.setLabel("left", LOSS_LABEL, **{"font-size": "9pt"})
        item.setLabel("bottom", "step")
        item.showGrid(x=True, y=True, alpha=0.3)
        item.addLegend(offset=(-10, 10), labelTextColor="#202020",
                       brush=pg.mkBrush(255, 255, 255, 220))
        self.points: dict[str, tuple[list[int], list[float]]] = {a: ([], []) for a in RUNS}
        self.curves = {arch: item.plot(pen=pg.mkPen(COLORS[arch], width=2),
                                       name=f"{arch}: {TASK_NAMES[arch]}") for arch in RUNS}

    def clear_points(self) -> None:
        for arch, (steps, losses) in self.points.items():
            steps.clear()
            losses.clear()
            self.curves[arch].setData([], [])

    def add(self, results: list[tuple[str, int, float]]) -> None:
        for arch, step, loss in results:
            self.points[arch][0].append(step)
            self.points[arch][1].append(loss)
        for arch in {r[0] for r in results}:
            self.curves[arch].setData(*self.points[arch])


class TogetherBox(QWidget):
    """What the run is doing and the plot (shown once a run starts), and ``button``
    (Train all three / Stop) for the view's bar.

    Signals: ``weights_ready({arch: Snapshot})`` (on the GUI thread), ``finished(str)``."""

    weights_ready = Signal(object)
    finished = Signal(str)
    train_requested = Signal()  # the button, while nothing trains: the panel asks where

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.button = QPushButton("Train all three")
        self.button.setToolTip("Train the bundled decoder (next token), encoder (masked "
                               "token) and encoder–decoder (sequence to sequence) together, "
                               "one step of each in turn; the columns follow the weights")
        self.button.clicked.connect(self._on_button)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.plot = TogetherPlot()
        self.plot.setMinimumHeight(140)
        layout = QVBoxLayout(self)  # (the button goes in the view's bar: ``button``)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(self.status)
        layout.addWidget(self.plot, 1)
        self.hide()  # until a run starts
        self.control: TrainControl | None = None
        self.worker: TogetherWorker | None = None
        self.thread: QThread | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(200)
        self.timer.timeout.connect(self._drain)

    def is_training(self) -> bool:
        return self.thread is not None and self.thread.isRunning()

    def _on_button(self) -> None:
        if self.is_training():
            self.stop()
        else:
            self.train_requested.emit()

    def start(self, out: Path, given: dict[str, Any] | None = None) -> None:
        """Train (or continue) the three runs in ``out``."""
        if self.is_training() or self.timer.isActive():  # (the last run's end not yet shown)
            return
        self.control = TrainControl()
        self.worker = TogetherWorker(Path(out), self.control, dict(given or {}))
        self.thread = QThread(self)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.worker.weights_ready.connect(self.weights_ready.emit)
        # the thread ends with the run (not later, from this thread's event loop): a
        # closing window waits for exactly that
        self.worker.finished.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)
        self.worker.finished.connect(self._on_finished)
        self.plot.clear_points()
        self.show()
        self.status.setText(f"Preparing the data and the three models in {out}…")
        self.button.setText("Stop")
        self.thread.start()
        self.timer.start()

    def stop(self) -> None:
        """Stop after (abandoning) the running step; each run is saved."""
        if self.control is not None:
            self.control.stop()
            self.status.setText("Stopping and saving the three runs…")

    def wait(self, ms: int = STOP_WAIT_MS) -> bool:
        """Stop and wait for the saves (closing the window)."""
        if not self.is_training():
            return True
        self.stop()
        return self.thread.wait(ms)

    def _drain(self) -> None:
        if self.worker is None:
            return
        results = []
        while self.worker.results:
            results.append(self.worker.results.popleft())
        if results:
            self.plot.add(results)
            last = {arch: (step, loss) for arch, step, loss in results}
            self.status.setText("   ".join(f"{a} step {s}: {v:.3f}"
                                           for a, (s, v) in last.items()))

    def _on_finished(self, message: str) -> None:
        if self.thread is not None:
            self.thread.quit()
            self.thread.wait(5000)
        self.timer.stop()
        self._drain()
        self.status.setText(message)
        self.button.setText("Train all three")
        self.finished.emit(message)
