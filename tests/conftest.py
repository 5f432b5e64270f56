"""Test configuration shared by every test: headless Qt, few threads, quiet settings."""

from __future__ import annotations

import gc
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TRANSFORMER_EXPLORER_TESTING", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(min(2, torch.get_num_threads()))


_tests_run = [0]


@pytest.fixture(autouse=True)
def _collect_garbage_on_the_main_thread():
    """As the app does (explorer.ui.widgets.pyside_fix.collect_garbage_on_gui_thread): no automatic
    collection, which could run in a training or tracing thread and destroy a Qt object of
    an earlier test there (a segfault); collect here, on the main thread, after each test:
    the young objects every time (cheap), everything every 25 tests."""
    gc.disable()
    yield
    _tests_run[0] += 1
    gc.collect(2 if _tests_run[0] % 25 == 0 else 0)
    gc.enable()


_soak_lines: list[str] = []


@pytest.fixture
def soak_report():
    """Lines a long-running test wants in the session summary (memory growth, steps)."""
    return _soak_lines.append


def pytest_terminal_summary(terminalreporter):
    for line in _soak_lines:
        terminalreporter.write_line(line)


@pytest.fixture(autouse=True)
def _application_font_restored():
    """A test that changes the application font (presentation zoom, a theme) puts it back,
    so a later test measuring sizes sees the font the app starts with."""
    import sys

    if "PySide6.QtWidgets" not in sys.modules:
        yield
        return
    from PySide6.QtGui import QFont
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    font = QFont(app.font()) if app is not None else None
    yield
    app = QApplication.instance()
    if app is not None and font is not None and app.font() != font:
        app.setFont(font)
