"""Long work off the GUI thread: recording traces (latest request wins) and loading models.

``TraceRunner`` keeps one worker thread for the forward pass; while it is busy only the
newest request waits, so fast typing never queues stale passes. ``TaskThread`` runs one
function (building or opening a model) and reports progress, result or error. Both are
stopped and joined by ``stop()`` before the window goes away.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot


class _TraceWorker(QObject):
    done = Signal(object)

    def __init__(self, run: Callable[[Any], Any]) -> None:
        super().__init__()
        self._run = run

    @Slot(object)
    def compute(self, request: Any) -> None:
        try:
            result = self._run(request)
        except Exception as exc:  # noqa: BLE001 - shown in the window, never lost
            result = exc
        self.done.emit(result)


class TraceRunner(QObject):
    """Runs ``run(request)`` on a worker thread; emits ``finished(result)`` on the GUI thread.

    ``result`` is what ``run`` returned, or the exception it raised.
    """

    finished = Signal(object)
    _submit = Signal(object)

    def __init__(self, run: Callable[[Any], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("trace-worker")
        self._worker = _TraceWorker(run)
        self._worker.moveToThread(self._thread)
        self._submit.connect(self._worker.compute)
        self._worker.done.connect(self._on_done)
        self._thread.finished.connect(self._worker.deleteLater)
        self._thread.start()
        self.busy = False
        self._pending: Any = None
        self._stopped = False

    def submit(self, request: Any) -> None:
        """Run ``request`` now, or after the running one (replacing any waiting one)."""
        if self._stopped or request is None:
            return
        if self.busy:
            self._pending = request
            return
        self.busy = True
        self._submit.emit(request)

    def _on_done(self, result: Any) -> None:
        self.busy = False
        pending, self._pending = self._pending, None
        if pending is not None:
            self.submit(pending)
        if not self._stopped:
            self.finished.emit(result)

    def idle(self) -> bool:
        return not self.busy and self._pending is None

    def stop(self) -> None:
        """Finish the running pass, drop the waiting one, end the thread."""
        self._stopped = True
        self._pending = None
        self._thread.quit()
        self._thread.wait()


class TaskThread(QThread):
    """Runs ``fn(report)`` once; ``report(text)`` emits ``progress``; then ``succeeded`` with
    the return value or ``failed`` with a message (and the traceback as details)."""

    progress = Signal(str)
    succeeded = Signal(object)
    failed = Signal(str, str)

    def __init__(self, fn: Callable[[Callable[[str], None]], Any],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._fn = fn

    def run(self) -> None:
        try:
            result = self._fn(self.progress.emit)
        except Exception as exc:  # noqa: BLE001 - shown in the window, never lost
            self.failed.emit(str(exc) or type(exc).__name__, traceback.format_exc())
            return
        self.succeeded.emit(result)
