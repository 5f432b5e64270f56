"""A thread-safe handle to pause, resume and stop a run, and to stop its preparation.

The thread that iterates ``Trainer.steps(control)`` calls ``control.between_steps()``
before every step: it runs the callables other threads queued with
``call_between_steps`` (saving a checkpoint, copying the weights), waits while paused
(still running queued calls), and returns True once a stop was asked for.

``stop()`` does not wait for the step to end: the loop checks the flag before each
layer's forward pass and as each gradient arrives, abandons the step (the weights stay
those of the last completed step) and ends. Data preparation (reading, training the
tokenizer, tokenizing) calls ``control.check()`` between pieces of work, which raises
``StopRequested`` once a stop was asked for.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class StopRequested(Exception):  # noqa: N818 - a request, not an error
    """Raised by ``TrainControl.check()`` after ``stop()``: leave the work undone."""


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
        """Ask the run to end now: a running step is abandoned, a paused loop wakes up
        and ends, data preparation stops. Safe from any thread and from signal handlers."""
        self._stopped = True  # seen at once by check(), even if the lock is held
        with self._cond:
            self._cond.notify_all()

    def check(self) -> None:
        """Raise ``StopRequested`` if a stop was asked for (cheap: call it often)."""
        if self._stopped:
            raise StopRequested("stopped on request")

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
