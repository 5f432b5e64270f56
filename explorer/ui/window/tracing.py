"""Recording traces for the window: every edit goes to the session at once (later ones in
the same ``DEBOUNCE_MS`` together), each forward pass runs on a ``TraceRunner`` thread (text
A's and text B's), and once the user pauses the freed memory goes back to the system
(``explorer.state.allocator``): ``window.tracing``."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QMainWindow

from explorer.ui.widgets.workers import TraceRunner

DEBOUNCE_MS = 15
IDLE_TRIM_MS = 3000  # a pause this long after the last trace hands freed memory back


class Tracing(QObject):
    """The trace runners of ``window`` (its ``session``, ``inputs`` and messages)."""

    def __init__(self, window: QMainWindow, text: str | None, context: str | None) -> None:
        super().__init__(window)
        self.window = window
        # The texts for the first session (``None``: the default); edits before it exists.
        self.first_text, self.first_context = text, context
        self.runner = TraceRunner(self._run_request, window)
        self.runner.finished.connect(self._on_trace_recorded)
        self.compare_runner = TraceRunner(self._run_request, window)  # text B, beside A's
        self.compare_runner.finished.connect(self._on_compare_recorded)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self._on_debounce_timeout)
        self._edit_waiting = False
        # Once the user pauses, the memory freed while typing goes back to the system
        # (``explorer.state.allocator``: large blocks stay in the heap for reuse meanwhile).
        self._idle = QTimer(self)
        self._idle.setSingleShot(True)
        self._idle.setInterval(IDLE_TRIM_MS)
        self._idle.timeout.connect(self._on_idle)

    def text_edited(self, _text: str = "") -> None:
        """An edit is taken at once (the trace starts while the key is still down); edits
        that follow within ``DEBOUNCE_MS`` (a paste, key repeat, a scene setting both
        texts) are taken together when that time is up."""
        if self._debounce.isActive():
            self._edit_waiting = True
            return
        self._on_debounced_edit()
        self._debounce.start()

    def _on_debounce_timeout(self) -> None:
        if self._edit_waiting:
            self._edit_waiting = False
            self._on_debounced_edit()

    def edit_pending(self) -> bool:
        """An edit the session has not taken yet."""
        return self._edit_waiting

    def typing(self) -> bool:
        """An edit waits or its trace is being recorded."""
        return self._edit_waiting or not self.runner.idle()

    def _on_debounced_edit(self) -> None:
        w = self.window
        if w.session is None:
            self.first_text = w.inputs.text.toPlainText()
            self.first_context = w.inputs.context.toPlainText()
            return
        w.session.set_text(w.inputs.text.toPlainText())
        w.session.set_context(w.inputs.context.toPlainText())
        w.session.compare.set_text(w.inputs.compare_text())

    def record(self) -> None:
        """Record text A again (the session's request)."""
        self.runner.submit(self.window.session.request())

    def record_compare(self) -> None:
        """Record text B again, if it is due."""
        self.compare_runner.submit(self.window.session.compare.request())

    def _run_request(self, request):
        from explorer.state import run_request

        return run_request(request)

    def _on_trace_recorded(self, result: Any) -> None:
        self._take_result(result, "", lambda s: s.apply)

    def _on_compare_recorded(self, result: Any) -> None:
        self._take_result(result, "on text B", lambda s: s.compare.apply)

    def _take_result(self, result: Any, which: str, apply) -> None:
        """A recorded trace (or the exception a worker raised) for the session."""
        w = self.window
        if w.session is None or w.closing:
            return
        if isinstance(result, BaseException):
            w.show_error(" ".join(filter(None, ("The forward pass", which, "failed:")))
                         + f" {result}")
            return
        apply(w.session)(result)

    def traced(self) -> None:
        """A trace was shown: the memory is trimmed once the user pauses."""
        self._idle.start()

    def _on_idle(self) -> None:
        from explorer.state import allocator

        if self.typing():
            self._idle.start()
        else:
            allocator.trim()

    def stop(self) -> None:
        """Stop the timers and both runners, and wait for them."""
        self._debounce.stop()
        self._idle.stop()
        self._edit_waiting = False
        self.runner.stop()
        self.compare_runner.stop()
