"""The window's layout: default size and dock sizes, and the saved geometry, docks and
texts (restored at start, saved at close): ``window.layout_ctl``."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QMainWindow, QProxyStyle, QStyle, QToolBar

from explorer.ui.window.settings import NOTE_KEY, bounded_text


class WindowLayout:
    """The layout of ``window`` (its ``settings``, ``inputs``, ``session``, docks and
    ``presentation``)."""

    def __init__(self, window: QMainWindow) -> None:
        self.window = window
        self.default_state = None  # View ▸ Reset layout goes back to it
        self.needs_dock_sizes = False  # the default dock sizes, once the window is shown

    def restore(self) -> str:
        """Restore the saved size, docks and toolbars; returns a note for the user when the
        saved layout could not be used (damaged, from elsewhere, or hiding every panel)."""
        w = self.window
        self.default_state = w.saveState()
        geometry = w.settings.value("window/geometry")
        state = w.settings.value("window/state")
        if not (isinstance(geometry, QByteArray) and w.restoreGeometry(geometry)):
            self.default_size()
        if not isinstance(state, QByteArray):
            self.needs_dock_sizes = True
            return ""
        if w.restoreState(state) and not self._layout_hides_everything():
            return ""
        w.restoreState(self.default_state)
        self._show_every_panel()
        self.needs_dock_sizes = True
        return ("The saved window layout could not be used (damaged, or hiding every panel); "
                "the default layout is shown.")

    def restore_compare(self) -> None:
        """Text B as it was left; no edit signal yet (the text boxes fill with the
        session)."""
        w = self.window
        w.inputs.blockSignals(True)
        w.inputs.set_compare(str(w.settings.value("input/compare", "") or ""))
        shown = str(w.settings.value("input/compare_shown", "false")).lower() == "true"
        w.inputs.set_compare_visible(shown)
        w.inputs.blockSignals(False)
        w.menus.compare_action.setChecked(shown)

    def _layout_hides_everything(self) -> bool:
        """The toolbars and the input dock all hidden: a layout no one works with (an
        older version saved presentation mode's this way)."""
        w = self.window
        return all(x.isHidden() for x in (w.input_dock, *w.findChildren(QToolBar)))

    def _show_every_panel(self) -> None:
        w = self.window
        for widget in (*w.findChildren(QDockWidget), *w.findChildren(QToolBar)):
            if widget.parentWidget() is w:
                widget.show()

    def reset(self) -> None:
        """View ▸ Reset layout: every dock and toolbar back in its first place and size."""
        w = self.window
        presentation = w.presentation
        if presentation is not None and presentation.presenting:
            presentation.leave()
        w.restoreState(self.default_state)
        self._show_every_panel()
        w.compact.forget()
        self.default_size()
        self.default_dock_sizes()
        w.compact.fit()

    def default_dock_sizes(self) -> None:
        w = self.window
        input_height = (w.inputs.compact_height() if w.inputs.is_compact() else
                        max(int(w.height() * 0.21), w.inputs.needed_height() + 30))
        w.resizeDocks([w.input_dock], [input_height], Qt.Orientation.Vertical)
        width = max(w.width(), 1000)
        w.resizeDocks([w.steps_dock, w.paper_dock],
                      [int(width * 0.22), int(width * 0.28)], Qt.Orientation.Horizontal)
        w.resizeDocks([w.steps_dock, w.overview_dock], [3, 2], Qt.Orientation.Vertical)
        QTimer.singleShot(0, w.inputs.balance)  # once the docks have their sizes

    def default_size(self) -> None:
        """1280x800 where the screen has room, 90% of a larger screen (a 1920x1080
        projector gets room), and never more than the screen (a 1280x720 projector)."""
        w = self.window
        screen = w.screen().availableGeometry() if w.screen() is not None else None
        if screen is None:
            w.resize(1280, 800)
            return
        width, height = screen.width(), screen.height()
        if width > 1280 and height > 800:
            w.resize(max(1280, int(width * 0.9)), max(800, int(height * 0.9)))
        else:
            w.resize(min(1280, width), min(800, height))

    def save_settings(self) -> None:
        """Save the normal layout (never presentation mode's), the texts and the model."""
        w = self.window
        presentation = w.presentation
        normal = presentation.normal_layout() if presentation is not None else None
        geometry, state = normal or (w.saveGeometry(),
                                     w.compact.saved_state() or w.saveState())
        w.settings.setValue("window/geometry", geometry)
        w.settings.setValue("window/state", state)
        text, note = bounded_text(w.inputs.text.toPlainText(), "The text")
        context, context_note = bounded_text(w.inputs.context.toPlainText(), "The context")
        w.settings.setValue("input/text", text)
        w.settings.setValue("input/context", context)
        compare, _ = bounded_text(w.inputs.compare.toPlainText(), "Text B")
        w.settings.setValue("input/compare", compare)
        w.settings.setValue("input/compare_shown", w.inputs.compare_visible())
        w.settings.setValue(NOTE_KEY, " ".join(n for n in (note, context_note) if n))
        if w.session is not None:
            w.settings.setValue("model/arch", w.session.arch)
        w.settings.sync()


class TightTabs(QProxyStyle):
    """The application's style with half the horizontal padding in tabs, so that the
    window's tabs stay side by side at 1280 px instead of behind scroll arrows."""

    def pixelMetric(self, metric, option=None, widget=None) -> int:  # noqa: N802 (Qt)
        value = super().pixelMetric(metric, option, widget)
        return value // 2 if metric == QStyle.PixelMetric.PM_TabBarTabHSpace else value
