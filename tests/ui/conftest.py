"""Shared by the window's tests: a real main window on its own settings file."""

from __future__ import annotations

import pytest

from explorer.ui.window.main_window import MainWindow
from explorer.ui.window.settings import SETTINGS_ENV

WINDOW_TIMEOUT = 30_000


@pytest.fixture
def open_window(qtbot, tmp_path, monkeypatch):
    """``open_window(arch="decoder", text="the king sings .", **kwargs)``: a shown
    ``MainWindow`` (settings in the test's folder) once its first views are drawn."""
    monkeypatch.setenv(SETTINGS_ENV, str(tmp_path / "settings.ini"))

    def make(arch: str | None = "decoder", text: str | None = "the king sings .",
             **kwargs) -> MainWindow:
        window = MainWindow(arch=arch, text=text, **kwargs)
        qtbot.addWidget(window)
        window.show()
        with qtbot.waitSignal(window.views_updated, timeout=WINDOW_TIMEOUT):
            window.start()
        return window

    return make


def up_to_date(window) -> None:
    """Bring every panel up to date now, as showing each one would: the window refreshes a
    panel the user cannot see only when it is shown or typing pauses (``catch_up``)."""
    for panel in window.panels:
        window.hosting.catch_up(panel)
