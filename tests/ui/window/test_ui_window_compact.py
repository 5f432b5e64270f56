"""Small projectors in normal mode (issue 30 §6): below 800 px of height the window lays
itself out for the screen, and every tab's main view gets at least 55% of its height."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from explorer.ui.window.compact import MAIN_VIEW_SHARE, main_views


def settle(qtbot, window) -> None:
    qtbot.waitUntil(lambda: not window.compact._pending.isActive(), timeout=5000)
    qtbot.wait(80)


def test_every_tab_main_view_gets_most_of_a_1280x720_window(qtbot, open_window):
    from explorer.ui.widgets import theme

    theme.apply_theme(QApplication.instance())  # the font the app itself starts with
    window = open_window(text="the wise girl follows the sad witch .")
    window.resize(1280, 720)
    settle(qtbot, window)
    assert window.height() == 720 and window.compact.compact
    views = main_views(window)
    titles = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert list(views) == titles  # every tab, also those added later
    for title, view in views.items():
        window.show_tab(title)
        qtbot.wait(60)
        assert view.isVisible(), title
        assert view.height() >= MAIN_VIEW_SHARE * window.height(), (title, view.height())
    # The Steps and Overview docks share one place; the input is one line of text.
    assert window.tabifiedDockWidgets(window.steps_dock) == [window.overview_dock]
    assert window.input_dock.height() <= 2.5 * window.inputs.text.fontMetrics().lineSpacing()
    window.close()


def test_the_input_grows_while_typing_and_the_normal_layout_comes_back(qtbot, open_window):
    window = open_window()
    window.resize(1280, 720)
    settle(qtbot, window)
    line = window.input_dock.height()
    window.activateWindow()
    window.inputs.text.setFocus()
    qtbot.waitUntil(lambda: not window.inputs.is_compact(), timeout=5000)
    qtbot.wait(50)
    assert window.input_dock.height() > line and window.tokens_view.isVisible()
    window.focus_steps()  # Esc in the text box
    qtbot.waitUntil(window.inputs.is_compact, timeout=5000)
    qtbot.wait(50)
    assert window.input_dock.height() <= line + 2
    window.resize(1280, 1000)
    settle(qtbot, window)
    assert not window.compact.compact and not window.inputs.is_compact()
    assert window.tabifiedDockWidgets(window.steps_dock) == []
    assert window.steps_dock.isVisible() and window.overview_dock.isVisible()
    window.close()
