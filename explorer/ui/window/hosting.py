"""The window's panels: adding the tabs the composition root gives, finding one by title,
and refreshing them, those out of sight once they are shown (``window.hosting``). The
window itself is the ``PanelHost`` the panels talk back to."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QLabel, QMainWindow

from explorer.ui.widgets.panel import Panel

# Panels shown as docks, not tabs (their ``dock`` is True). Their docks exist from the
# start (empty until torch is loaded), so a saved layout and View ▸ Reset layout place them.
DOCKED = ("Interventions",)
CATCH_UP_MS = 300  # after the last change, hidden panels catch up (typing has paused)



def default_panels() -> list[Panel]:
    """Every feature package's panel (``compose``, imported once torch is loaded: the
    panels use it, and the window paints first)."""
    from explorer.ui.window.compose import default_panels as compose_panels

    return compose_panels()

class PanelHosting(QObject):
    """The panels of ``window`` (its ``tabs``, ``panels`` and ``session``): the docks of the
    ``DOCKED`` panels, each a tab beside the Paper panel, made at once; the panels from
    ``panel_factory`` once torch is loaded; ``follow_dir``: a run to follow then."""

    def __init__(self, window: QMainWindow, panel_factory: Callable[[], list[Panel]],
                 follow_dir: str | None) -> None:
        super().__init__(window)
        self.window = window
        self.panel_factory = panel_factory
        self.follow_dir = follow_dir  # a run folder to follow once the tabs exist
        self.panel_docks = {}
        for title in DOCKED:
            waiting = QLabel("Loading…")
            waiting.setAlignment(Qt.AlignmentFlag.AlignCenter)
            dock = window.add_dock(title, waiting, Qt.DockWidgetArea.RightDockWidgetArea)
            window.tabifyDockWidget(window.paper_dock, dock)
            self.panel_docks[title] = dock
            dock.visibilityChanged.connect(self._catch_up_shown)
        window.paper_dock.raise_()
        # Panels the user cannot see are not refreshed on each keystroke: they are marked
        # stale and catch up when shown, or once typing pauses (``CATCH_UP_MS``).
        self.stale: dict[Panel, set[str]] = {}
        self._catch_up_timer = QTimer(self)
        self._catch_up_timer.setSingleShot(True)
        self._catch_up_timer.timeout.connect(self._catch_up_next)
        window.tabs.currentChanged.connect(self._catch_up_shown)
        self._shown_check = QTimer(self)
        self._shown_check.setSingleShot(True)
        self._shown_check.setInterval(0)
        self._shown_check.timeout.connect(self._catch_up_visible)

    # -- refreshing the panels -----------------------------------------------------------
    def panel_shown(self, panel: Panel) -> bool:
        """Whether the user can see ``panel`` (its tab is the current one, its dock is open
        and in front), or would once the window is shown. (A dock behind another dock's
        tab is not hidden but moved out of sight: it has no visible region.)"""
        widget, window = panel.widget, self.window
        if not widget.isVisibleTo(window):
            return False
        if window.tabs.indexOf(widget) >= 0:
            return window.tabs.currentWidget() is widget
        return not window.isVisible() or not widget.visibleRegion().isEmpty()

    def refresh(self, what: str) -> None:
        """Tell the panels the session's ``what`` changed ("trace", "selection" or
        "compare"): those shown now, the others when they are shown or typing pauses."""
        for panel in self.window.panels:
            if panel.refresh_hidden or self.panel_shown(panel):
                self._refresh_panel(panel, {what})
            else:
                self.stale.setdefault(panel, set()).add(what)
        if self.stale:
            self._catch_up_timer.start(CATCH_UP_MS)

    def _refresh_panel(self, panel: Panel, what: set[str]) -> None:
        s = self.window.session
        if s is None:
            return
        if s.trace is not None and "trace" in what:
            panel.refresh(s)
        if "compare" in what:
            panel.refresh_compare(s)
        if s.trace is not None and what & {"trace", "selection"}:
            panel.refresh_selection(s)

    def catch_up(self, panel: Panel) -> None:
        """Bring ``panel`` up to date now, if it missed a change while hidden."""
        what = self.stale.pop(panel, None)
        if what:
            self._refresh_panel(panel, what)

    def _catch_up_shown(self, *_args) -> None:
        """A tab or dock came to the front: its panel catches up now."""
        self._catch_up_visible()
        if self.stale:  # a dock's new place is laid out after it says it is shown
            self._shown_check.start()

    def _catch_up_visible(self) -> None:
        for panel in list(self.stale):
            if self.panel_shown(panel):
                self.catch_up(panel)

    def _catch_up_next(self) -> None:
        """One hidden panel caught up per turn of the event loop, while nothing waits."""
        if not self.stale or self.window.closing:
            return
        if self.window.tracing.typing():
            self._catch_up_timer.start(CATCH_UP_MS)
            return
        self.catch_up(next(iter(self.stale)))
        if self.stale:
            self._catch_up_timer.start(0)  # the next one after the events waiting now

    def add_panel(self, panel: Panel) -> None:
        """Add ``panel``'s tab in the centre (after the others), or put it in its dock,
        and start calling it."""
        dock = self.panel_docks.get(panel.title) if getattr(panel, "dock", False) else None
        if dock is not None:
            dock.setWidget(panel.widget)
            if panel.tooltip:
                dock.setToolTip(panel.tooltip)
        else:
            index = self.window.tabs.addTab(panel.widget, panel.title)
            if panel.tooltip:
                self.window.tabs.setTabToolTip(index, panel.tooltip)
        self.window.panels.append(panel)
        panel.attach(self.window)
        if self.window.session is not None and self.window.session.trace is not None:
            self.stale[panel] = {"trace", "compare"}
            if self.panel_shown(panel):
                self.catch_up(panel)
            else:
                self._catch_up_timer.start(CATCH_UP_MS)

    def panel(self, title: str) -> Panel:
        """The tab titled ``title`` (KeyError if there is none)."""
        for panel in self.window.panels:
            if panel.title == title:
                return panel
        raise KeyError(f"no {title!r} tab")

    def add_late_panels(self) -> None:
        """Panels that import torch are created once it is loaded."""
        from explorer.ui.window.compose import connect_panels

        for panel in self.panel_factory():
            self.add_panel(panel)
        connect_panels(self.window.panels)

    def follow_run(self, path: str) -> bool:
        """Show a run another process writes in the Train tab, live and read-only (File ▸
        Follow a run…, ``--follow DIR``); before the tabs exist it waits for them."""
        if not self.window.panels:
            self.follow_dir = path
            return True
        try:
            train = self.panel("Train")
        except KeyError:
            self.window.show_error("This window has no Train tab to follow a run in.")
            return False
        if not train.follow(path):
            return False
        self.window.tabs.setCurrentWidget(train.widget)
        return True

    def text_edited(self, _text: str = "") -> None:
        for panel in self.window.panels:
            panel.text_edited()
