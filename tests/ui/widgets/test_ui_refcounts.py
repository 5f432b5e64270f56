"""None, True and False survive any number of Qt signal emits and void calls.

PySide6 6.12.0 drops one reference to True per ``SignalInstance.emit()`` and one to None
per call of a void Qt method; on Python 3.11 the process aborted after ~100 s of live
training ("Fatal Python error: bool_dealloc"). Importing ``explorer.ui`` makes the three
constants effectively immortal, as Python 3.12 does.
"""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel

import explorer.ui  # noqa: F401  (the guard runs on import)
from explorer.ui.widgets.pyside_fix import IMMORTAL

CONSTANTS = {"None": None, "True": True, "False": False}
N = 20_000


class Emitter(QObject):
    value = Signal(object)
    flag = Signal(bool)
    bare = Signal()


def refcounts() -> dict[str, int]:
    return {name: sys.getrefcount(c) for name, c in CONSTANTS.items()}


def safe(before: int, after: int) -> bool:
    """Unchanged (a correct PySide6), or so large no session could drain it."""
    return abs(after - before) < 100 or after > IMMORTAL // 2


def test_signals_and_void_calls_cannot_drain_none_true_or_false(qapp) -> None:
    emitter = Emitter()
    seen = []
    emitter.value.connect(seen.append)
    emitter.flag.connect(seen.append)
    emitter.bare.connect(lambda: seen.append(None))
    label = QLabel()
    before = refcounts()
    for i in range(N):
        emitter.value.emit(i)
        emitter.flag.emit(i % 2 == 0)
        emitter.bare.emit()
        label.setText("x")  # a void method
    after = refcounts()
    seen.clear()
    assert all(safe(before[k], after[k]) for k in CONSTANTS), (before, after)
    assert all(v > 10_000 for v in after.values())


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="immortal since Python 3.12")
def test_importing_the_ui_makes_the_constants_immortal() -> None:
    for name, count in refcounts().items():
        assert count >= IMMORTAL // 2, name
