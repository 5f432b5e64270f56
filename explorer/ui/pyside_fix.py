"""Work-arounds every window needs: None's refcount under PySide6 6.12 on Python 3.11,
and garbage collection kept on the GUI thread (``collect_garbage_on_gui_thread``).

Each call of a Qt method returning void drops one reference to ``None`` without taking
it; a long session (thousands of calls a second while typing, stepping or training)
would end in "Fatal Python error: none_dealloc". Python 3.12 makes ``None`` immortal
(PEP 683); on 3.11 we give it the same effectively endless reference count, once per
process. Harmless where the bug is absent.
"""

from __future__ import annotations

import ctypes
import gc
import sys


def keep_none_alive() -> None:
    if sys.version_info < (3, 12) and sys.getrefcount(None) < 1 << 40:
        ctypes.c_ssize_t.from_address(id(None)).value += 1 << 40


def collect_garbage_on_gui_thread(app, interval_ms: int = 500) -> None:
    """Run Python's cyclic garbage collector only on the GUI thread.

    Python collects cycles in whichever thread happens to allocate when a threshold is
    crossed: with training and tracing on worker threads that can be a worker, and a
    cycle holding a Qt object is then destroyed off the GUI thread, which crashes Qt
    (seen as a segfault inside a worker while the GUI thread waits). So automatic
    collection is switched off and a GUI-thread timer collects instead, by the same
    generation thresholds; it is switched back on when the application quits.
    """
    from PySide6.QtCore import QTimer

    if getattr(app, "_gui_gc_timer", None) is not None:
        return
    thresholds = gc.get_threshold()

    def check() -> None:
        counts = gc.get_count()
        for generation in (2, 1, 0):
            if counts[generation] > thresholds[generation]:
                gc.collect(generation)
                return

    timer = QTimer(app)
    timer.setInterval(interval_ms)
    timer.timeout.connect(check)
    app._gui_gc_timer = timer

    def restore() -> None:
        timer.stop()
        gc.enable()

    app.aboutToQuit.connect(restore)
    gc.disable()
    timer.start()
