"""The saved layout is always the normal one: quitting in presentation mode, a damaged or
foreign saved state, and View ▸ Reset layout."""

from __future__ import annotations

from PySide6.QtCore import QByteArray
from PySide6.QtWidgets import QDockWidget, QToolBar, QWidget

from explorer.ui.window.main_window import MainWindow
from explorer.ui.window.settings import SETTINGS_ENV, make_settings

TIMEOUT = 30_000


def open_window(qtbot):
    window = MainWindow(arch="decoder", text="the king sings .")
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.views_updated, timeout=TIMEOUT):
        window.start()
    return window


def every_panel_shown(window) -> bool:
    bars = window.findChildren(QToolBar)
    docks = window.findChildren(QDockWidget)
    return (len(bars) >= 2 and len(docks) >= 4
            and all(w.isVisible() for w in (*bars, *docks))
            and window.menuBar().isVisible() and window.inputs.text.isVisible())


def test_quitting_in_presentation_mode_starts_normal_next_time(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv(SETTINGS_ENV, str(tmp_path / "settings.ini"))
    first = open_window(qtbot)
    assert every_panel_shown(first)
    first.presentation.enter()  # F5
    assert not first.inputs.text.isVisible()
    first.close()  # Ctrl+Q while presenting
    again = open_window(qtbot)
    assert every_panel_shown(again)
    assert not again.isFullScreen() and not again.banner.isVisible()
    again.close()


def test_a_damaged_or_everything_hidden_layout_is_ignored_with_a_message(
        qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv(SETTINGS_ENV, str(tmp_path / "settings.ini"))
    settings = make_settings()
    settings.setValue("window/state", QByteArray(b"not a window state"))
    settings.sync()
    window = open_window(qtbot)
    assert every_panel_shown(window) and "layout" in window.banner.text()
    for w in (*window.findChildren(QToolBar), *window.findChildren(QDockWidget)):
        w.hide()  # what an older version saved after presentation mode
    window.close()
    again = open_window(qtbot)
    assert every_panel_shown(again) and "layout" in again.banner.text()
    again.close()


def test_reset_layout_brings_every_panel_back(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv(SETTINGS_ENV, str(tmp_path / "settings.ini"))
    window = open_window(qtbot)
    window.steps_dock.hide()
    window.paper_dock.setFloating(True)
    reset = next(a for a in window.menus.view_menu.actions() if a.text() == "Reset layout")
    reset.trigger()
    assert every_panel_shown(window) and not window.paper_dock.isFloating()
    window.close()


def test_every_tab_fits_a_1280x720_projector(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QAbstractButton, QApplication, QComboBox, QLabel

    from explorer.ui.widgets import theme

    theme.apply_theme(QApplication.instance())  # the font the app itself starts with
    monkeypatch.setenv(SETTINGS_ENV, str(tmp_path / "settings.ini"))
    window = open_window(qtbot)
    hint = window.minimumSizeHint()
    assert hint.width() <= 1280 and hint.height() <= 720
    window.resize(1280, 720)
    window.layout_ctl.default_dock_sizes()
    qtbot.wait(50)
    window.activateWindow()
    window.inputs.text.setFocus()  # a short screen shows the token strip while typing
    qtbot.waitUntil(lambda: not window.inputs.is_compact(), timeout=5000)
    qtbot.wait(50)
    tokens = window.inputs._tokens_view
    strip = tokens.parentWidget()  # the scroll area's viewport
    assert strip.width() >= tokens.minimumSizeHint().width()  # "compare kinds" whole
    assert window.input_dock.height() >= window.inputs.needed_height()  # the ids row too
    for i in range(window.tabs.count()):
        window.tabs.setCurrentIndex(i)
        qtbot.wait(20)
        for w in window.findChildren(QWidget):
            if not w.isVisible() or not isinstance(w, (QAbstractButton, QLabel, QComboBox)):
                continue
            if isinstance(w, QLabel) and (w.wordWrap() or not w.text()):
                continue
            assert w.width() + 1 >= w.minimumSizeHint().width(), (window.tabs.tabText(i), w,
                                                                  w.text()[:80])
    window.close()
