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
