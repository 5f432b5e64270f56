"""Cyclic garbage is collected on the GUI thread only (a worker collecting a Qt object
of the GUI thread crashes Qt)."""

from __future__ import annotations

import gc
import threading

from explorer.ui.widgets.pyside_fix import collect_garbage_on_gui_thread


class _Cycle:
    def __init__(self) -> None:
        self.me = self
        self.freed_in = None

    def __del__(self) -> None:
        self.freed_in = threading.current_thread()
        _freed.append(threading.current_thread().name)


_freed: list[str] = []


def test_cycles_are_freed_by_the_gui_thread_timer(qtbot, qapp):
    collect_garbage_on_gui_thread(qapp, interval_ms=20)
    timer = qapp._gui_gc_timer
    try:
        assert not gc.isenabled() and timer.isActive()

        def make_garbage() -> None:  # a worker thread allocating far past the thresholds
            for _ in range(5000):
                _Cycle()

        worker = threading.Thread(target=make_garbage, name="worker")
        worker.start()
        worker.join()
        assert "worker" not in _freed  # nothing was collected there
        qtbot.waitUntil(lambda: len(_freed) > 0, timeout=5000)
        assert set(_freed) == {threading.main_thread().name}
    finally:
        timer.stop()
        qapp._gui_gc_timer = None
        gc.enable()
