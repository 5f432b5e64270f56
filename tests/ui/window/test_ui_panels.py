"""The window composes its tabs from Panel objects and calls them through the protocol."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

from explorer.ui.widgets.panel import Panel
from explorer.ui.window.compose import default_panels
from explorer.ui.window.main_window import MainWindow

TIMEOUT = 30_000


def _open(qtbot, tmp_path, monkeypatch, panel_factory=None) -> MainWindow:
    """A shown window (settings in the test's folder) once its first views are drawn."""
    monkeypatch.setenv("TRANSFORMER_EXPLORER_SETTINGS", str(tmp_path / "s.ini"))
    window = MainWindow(arch="decoder", text="the king sings .", panel_factory=panel_factory)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.views_updated, timeout=TIMEOUT):
        window.start()
    return window


class Recorder(Panel):
    title = "Recorder"
    tooltip = "records the calls it gets"

    def __init__(self, allow_close: bool = True) -> None:
        super().__init__(QLabel("recorder"))
        self.calls: list[str] = []
        self.allow_close = allow_close

    def refresh(self, session) -> None:
        self.calls.append("refresh")

    def refresh_selection(self, session) -> None:
        self.calls.append("selection")

    def model_changed(self, session) -> None:
        self.calls.append("model")

    def text_edited(self) -> None:
        self.calls.append("text")

    def confirm_close(self) -> bool:
        self.calls.append("confirm")
        return self.allow_close

    def shutdown(self) -> None:
        self.calls.append("shutdown")


def test_the_default_tabs_come_from_the_composition_root(qtbot, tmp_path, monkeypatch):
    window = _open(qtbot, tmp_path, monkeypatch)
    titles = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    tabs = [p.title for p in default_panels() if not getattr(p, "dock", False)]
    assert titles == ["Step", *tabs]
    assert titles == ["Step", "Attention", "Output", "Lens", "Infer", "Train", "Time-lapse",
                      "Side by side", "Tokenizer", "Circuit", "SAE"]
    for panel in window.panels:
        if getattr(panel, "dock", False):  # a dock panel lives in its dock, not a tab
            assert window.hosting.panel_docks[panel.title].widget() is panel.widget
        else:
            assert window.tabs.indexOf(panel.widget) >= 0
        assert panel.host is window
    assert [p.title for p in window.panels if getattr(p, "dock", False)] == ["Interventions"]
    window.close()


def test_a_panel_gets_every_call_of_the_protocol(qtbot, tmp_path, monkeypatch):
    keep_open = Recorder(allow_close=False)
    window = _open(qtbot, tmp_path, monkeypatch, panel_factory=lambda: [keep_open])
    assert window.panel("Recorder") is keep_open and keep_open.host is window
    qtbot.waitUntil(lambda: "selection" in keep_open.calls, timeout=TIMEOUT)  # hidden
    assert "refresh" in keep_open.calls
    keep_open.calls.clear()
    window.inputs.text.setFocus()
    qtbot.keyClicks(window.inputs.text, "x")
    assert "text" in keep_open.calls
    with qtbot.waitSignal(window.views_updated, timeout=TIMEOUT):
        pass
    # hidden (the Step tab is in front): refreshed once typing pauses
    qtbot.waitUntil(lambda: "refresh" in keep_open.calls, timeout=TIMEOUT)
    with qtbot.waitSignal(window.model_loaded, timeout=TIMEOUT):
        window.loading.set_architecture("encoder")
    assert "model" in keep_open.calls
    window.close()  # the panel says no: the window stays open
    assert window.isVisible() and "confirm" in keep_open.calls
    keep_open.allow_close = True
    window.close()
    assert not window.isVisible() and keep_open.calls[-1] == "shutdown"


def _typed(window, qtbot, text: str) -> None:
    window.inputs.text.setFocus()
    with qtbot.waitSignal(window.views_updated, timeout=TIMEOUT):
        qtbot.keyClicks(window.inputs.text, text)
    qtbot.waitUntil(lambda: not window.tracing.typing(), timeout=TIMEOUT)


def test_a_hidden_panel_catches_up_when_shown_or_when_typing_pauses(qtbot, tmp_path,
                                                                     monkeypatch):
    from explorer.ui.window.hosting import CATCH_UP_MS

    panel = Recorder()
    window = _open(qtbot, tmp_path, monkeypatch, panel_factory=lambda: [panel])
    qtbot.waitUntil(lambda: "refresh" in panel.calls, timeout=TIMEOUT)
    assert window.tabs.currentIndex() == 0 and not window.hosting.panel_shown(panel)
    panel.calls.clear()
    _typed(window, qtbot, "x")
    assert panel.calls == ["text"]  # the new trace is drawn; the hidden tab waits
    window.show_tab("Recorder")  # shown: brought up to date at once
    assert panel.calls == ["text", "refresh", "selection"]
    panel.calls.clear()
    _typed(window, qtbot, "y")  # in front: refreshed with the other views
    assert panel.calls == ["text", "refresh", "selection"]
    window.show_tab("Step")
    panel.calls.clear()
    _typed(window, qtbot, "z")
    window.session.select_head(1)
    assert "refresh" not in panel.calls
    qtbot.wait(CATCH_UP_MS // 2)
    assert "refresh" not in panel.calls
    qtbot.waitUntil(lambda: panel.calls[-2:] == ["refresh", "selection"], timeout=TIMEOUT)
    assert panel.calls.count("refresh") == 1  # once, for everything it missed
    window.close()


def test_a_keystroke_starts_its_trace_at_once_and_a_burst_is_taken_together(qtbot, tmp_path,
                                                                              monkeypatch):
    window = _open(qtbot, tmp_path, monkeypatch)
    qtbot.waitUntil(lambda: not window.tracing.typing(), timeout=TIMEOUT)
    box = window.inputs.text
    box.setFocus()
    box.moveCursor(box.textCursor().MoveOperation.End)
    qtbot.keyClick(box, "a")
    # no timer to wait for: the session has the edit and the worker its request
    assert window.session.text.endswith("a") and not window.tracing.runner.idle()
    qtbot.keyClicks(box, "bc")  # within the debounce time: taken together, once
    assert window.session.text.endswith(".a") and window.tracing.edit_pending()
    qtbot.waitUntil(lambda: not window.tracing.typing(), timeout=TIMEOUT)
    s = window.session
    assert s.text.endswith(".abc") and s.trace_inputs[0] == s.x_labels
    window.close()


def test_a_dock_behind_another_docks_tab_counts_as_hidden(qtbot, tmp_path, monkeypatch):
    """Qt moves a tabbed dock that is not in front out of sight instead of hiding it."""
    from explorer.ui.interventions.panel import InterventionsPanel

    monkeypatch.setattr(InterventionsPanel, "refresh_hidden", False)
    window = _open(qtbot, tmp_path, monkeypatch)
    dock = window.panel("Interventions")
    qtbot.waitUntil(lambda: not window.hosting.stale, timeout=TIMEOUT)
    assert not window.hosting.panel_shown(dock)  # the Paper tab is in front
    _typed(window, qtbot, "x")
    assert dock in window.hosting.stale
    window.show_tab("Interventions")
    qtbot.waitUntil(lambda: window.hosting.panel_shown(dock), timeout=TIMEOUT)
    assert dock not in window.hosting.stale  # brought up to date as its tab came to the front
    window.close()
