"""Work-arounds every window needs: the refcounts of None, True and False under PySide6
6.12.0 on Python 3.11 (``keep_constants_alive``), and garbage collection kept on the GUI
thread (``collect_garbage_on_gui_thread``).

PySide6 6.12.0 drops references it never took: each call of a Qt method returning void
drops one reference to ``None``, and each ``SignalInstance.emit()`` one reference to
``True``. pyqtgraph emits twice per redraw, so live training at 30 redraws a second
drained ``True`` in about 100 s and the process aborted with "Fatal Python error:
bool_dealloc" (typing and stepping did the same to ``None``). Python 3.12 makes these
constants immortal (PEP 683); on 3.11 we give them the same effectively endless reference
count, once per process, as soon as ``explorer.ui`` is imported. pyproject.toml also keeps
installs off 6.12.0; this guard keeps a user who installed it anyway safe. Harmless where
the bug is absent.
"""

from __future__ import annotations

import ctypes
import gc
import sys

IMMORTAL = 1 << 40  # far more references than a session can ever drop


def keep_constants_alive() -> None:
    """Give ``None``, ``True`` and ``False`` an effectively endless reference count on
    Python < 3.12 (where they are not immortal), once per process."""
    if sys.version_info >= (3, 12):
        return
    for constant in (None, True, False):
        if sys.getrefcount(constant) < IMMORTAL:
            ctypes.c_ssize_t.from_address(id(constant)).value += IMMORTAL


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
