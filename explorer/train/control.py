"""A thread-safe handle to pause, resume and stop a run between steps.

The thread that iterates ``Trainer.steps(control)`` calls ``control.between_steps()``
before every step: it runs the callables other threads queued with
``call_between_steps`` (saving a checkpoint, copying the weights), waits while paused
(still running queued calls), and returns True once a stop was asked for.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class TrainControl:
    """Pause / resume / stop flags shared by the GUI (or a signal handler) and the loop."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._paused = False
        self._stopped = False
        self._calls: deque[Callable[[], object]] = deque()
        self.paused_s = 0.0  # total time spent paused

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def stopped(self) -> bool:
        return self._stopped

    def pause(self) -> None:
        with self._cond:
            self._paused = True
            self._cond.notify_all()

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def stop(self) -> None:
        """Ask the loop to end before its next step (a paused loop wakes up and ends)."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def call_between_steps(self, fn: Callable[[], object]) -> None:
        """Run ``fn`` on the training thread at the next pause point (also while paused)."""
        with self._cond:
            self._calls.append(fn)
            self._cond.notify_all()

    def _run_calls(self) -> None:
        while True:
            with self._cond:
                if not self._calls:
                    return
                fn = self._calls.popleft()
            fn()

    def between_steps(self) -> bool:
        """Run queued calls, wait while paused; True when the loop should stop."""
        self._run_calls()
        if not self._paused:
            return self._stopped
        start = time.perf_counter()
        while True:
            with self._cond:
                while self._paused and not self._stopped and not self._calls:
                    self._cond.wait(timeout=0.5)
                done = not self._paused or self._stopped
            self._run_calls()
            if done:
                break
        self.paused_s += time.perf_counter() - start
        return self._stopped
