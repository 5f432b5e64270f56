"""Small screens in normal mode (``window.compact``). The tab bar never scrolls: on a
narrow screen the tabs' names are cut short instead. Below ``COMPACT_HEIGHT`` pixels of
window height (a 1280x720 projector) the window lays itself out for the screen. The two
toolbars share one row, the Steps and Overview docks tab together, the Input dock shrinks
to one line of text (it grows back, token strip and all, while one of its text boxes has
the keyboard), and each tab's main view (``main_views``) gets the rest. Growing past the
threshold again, or presentation mode, puts the normal layout back.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow, QToolBar, QWidget

from explorer.ui.window.layout import TightTabs

COMPACT_HEIGHT = 800  # below this many pixels of window height the layout is compact
MAIN_VIEW_SHARE = 0.55  # what each tab's main view gets of the window's height, at least


def main_views(window: QMainWindow) -> dict[str, QWidget]:
    """Each tab's title and its main view: the Step tab's heatmap plot, and each panel's
    ``main_view`` (the tab's page unless the panel names its plot)."""
    views: dict[str, QWidget] = {"Step": window.heatmap.plot}
    for panel in window.panels:
        if window.tabs.indexOf(panel.widget) >= 0:
            views[panel.title] = panel.main_view
    return views


class CompactLayout(QObject):
    """Switches ``window`` between its normal and its compact layout as its height
    crosses ``COMPACT_HEIGHT`` (never while presenting: presentation mode has its own)."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.compact = False
        self.normal_state = None  # the dock layout before compacting, put back after
        self._pending = QTimer(self)
        self._pending.setSingleShot(True)
        self._pending.setInterval(0)
        self._pending.timeout.connect(self.fit)
        QApplication.instance().focusChanged.connect(self._on_focus_changed)
        # A narrow screen: every tab stays in sight, their names cut short, rather than
        # some scrolled out of the tab bar.
        window.tabs.setUsesScrollButtons(False)
        window.tabs.setElideMode(Qt.TextElideMode.ElideRight)
        self.tab_style = TightTabs()  # half the padding: names cut short as late as can be
        window.tabs.tabBar().setStyle(self.tab_style)
        window.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        """The window changed size: fit the layout once the resize is over."""
        if event.type() == QEvent.Type.Resize:
            self._pending.start()
        return False

    def fit(self) -> None:
        w = self.window
        presentation = getattr(w, "presentation", None)
        if w.closing or (presentation is not None and presentation.presenting):
            return
        wanted = w.height() < COMPACT_HEIGHT
        if wanted != self.compact:
            self.set_compact(wanted)

    def _step_bar(self) -> QToolBar | None:
        return self.window.findChild(QToolBar, "toolbar-step")

    def set_compact(self, compact: bool) -> None:
        """Lay the window out for a small screen (True) or as it was (False)."""
        w = self.window
        self.compact = compact
        w.heatmap.set_compact(compact)
        bar = self._step_bar()
        if compact:
            self.normal_state = w.saveState()
            if bar is not None:
                w.removeToolBarBreak(bar)
            w.tabifyDockWidget(w.steps_dock, w.overview_dock)
            w.steps_dock.raise_()
            w.input_dock.setTitleBarWidget(QWidget())  # its line of text needs no title
            self._fit_input(self._input_has_focus())
            return
        w.inputs.set_compact(False)
        w.input_dock.setTitleBarWidget(None)
        if self.normal_state is not None:
            w.restoreState(self.normal_state)
            self.normal_state = None
        elif bar is not None:
            w.insertToolBarBreak(bar)
        w.layout_ctl.default_dock_sizes()

    def forget(self) -> None:
        """The layout was reset: nothing compact to undo (``fit`` compacts it again)."""
        self.compact = False
        self.normal_state = None
        self.window.heatmap.set_compact(False)
        self.window.inputs.set_compact(False)
        self.window.input_dock.setTitleBarWidget(None)

    def saved_state(self):
        """The dock layout to save at quit: the normal one, also while compact."""
        return self.normal_state if self.compact else None

    def _input_has_focus(self) -> bool:
        focus = QApplication.focusWidget()
        return focus is not None and self.window.inputs.isAncestorOf(focus)

    def _on_focus_changed(self, _old, _new) -> None:
        if self.compact:
            self._fit_input(self._input_has_focus())

    def _fit_input(self, editing: bool) -> None:
        """One line of text while stepping; the whole input while typing in it."""
        w = self.window
        if w.inputs.is_compact() != (not editing):
            w.inputs.set_compact(not editing)
        height = (w.inputs.compact_height() if not editing else
                  max(w.inputs.needed_height() + 12, w.inputs.minimumSizeHint().height()))
        w.resizeDocks([w.input_dock], [height], Qt.Orientation.Vertical)
