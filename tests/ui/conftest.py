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



@pytest.fixture
def training_window(open_window, tmp_path):
    """``training_window(text=...)``: a decoder window whose Train tab is set for a quick,
    endless run on the CPU (the tiny size: 1 layer, 2 heads; batch 8), runs in the test's
    folder, "stop and save?" answered Yes; training is stopped after the test."""
    made = []

    def make(text: str = "the king sings .") -> MainWindow:
        window = open_window(arch="decoder", text=text)
        panel = window.panel("Train").view
        panel.runs_dir = tmp_path / "runs"
        panel.form.size_box.setCurrentIndex(0)
        panel.form.batch_spin.setValue(8)
        panel.form.steps_spin.setValue(1_000_000)
        panel.form.device_box.setCurrentText("cpu")
        panel.ask = lambda title, text: True
        made.append(window)
        return window

    yield make
    for window in made:
        panel = window.panel("Train").view
        if panel.is_training():
            panel.stop()
            panel.wait(20_000)
        window.close()


def up_to_date(window) -> None:
    """Bring every panel up to date now, as showing each one would: the window refreshes a
    panel the user cannot see only when it is shown or typing pauses (``catch_up``)."""
    for panel in window.panels:
        window.hosting.catch_up(panel)
