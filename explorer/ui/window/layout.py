"""The window's layout: default size and dock sizes, and the saved geometry, docks and
texts (restored at start, saved at close). A mixin of ``MainWindow``."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QToolBar

from explorer.ui.window.settings import NOTE_KEY, bounded_text


class WindowLayout:
    """Expects ``settings``, ``inputs``, ``session`` and the docks of ``MainWindow``."""

    def _restore_layout(self) -> str:
        """Restore the saved size, docks and toolbars; returns a note for the user when the
        saved layout could not be used (damaged, from elsewhere, or hiding every panel)."""
        self._default_state = self.saveState()  # View ▸ Reset layout goes back to it
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if not (isinstance(geometry, QByteArray) and self.restoreGeometry(geometry)):
            self._default_size()
        if not isinstance(state, QByteArray):
            self._needs_dock_sizes = True
            return ""
        if self.restoreState(state) and not self._layout_hides_everything():
            return ""
        self.restoreState(self._default_state)
        self._show_every_panel()
        self._needs_dock_sizes = True
        return ("The saved window layout could not be used (damaged, or hiding every panel); "
                "the default layout is shown.")

    def _layout_hides_everything(self) -> bool:
        """The toolbars and the input dock all hidden: a layout no one works with (an
        older version saved presentation mode's this way)."""
        return all(w.isHidden() for w in (self.input_dock, *self.findChildren(QToolBar)))

    def _show_every_panel(self) -> None:
        for widget in (*self.findChildren(QDockWidget), *self.findChildren(QToolBar)):
            if widget.parentWidget() is self:
                widget.show()

    def reset_layout(self) -> None:
        """View ▸ Reset layout: every dock and toolbar back in its first place and size."""
        presentation = getattr(self, "presentation", None)
        if presentation is not None and presentation.presenting:
            presentation.leave()
        self.restoreState(self._default_state)
        self._show_every_panel()
        self._default_size()
        self._default_dock_sizes()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        if getattr(self, "_needs_dock_sizes", False):
            self._needs_dock_sizes = False
            QTimer.singleShot(0, self._default_dock_sizes)

    def _default_dock_sizes(self) -> None:
        input_height = max(int(self.height() * 0.21), self.inputs.needed_height() + 30)
        self.resizeDocks([self.input_dock], [input_height], Qt.Orientation.Vertical)
        width = max(self.width(), 1000)
        self.resizeDocks([self.steps_dock, self.paper_dock],
                         [int(width * 0.22), int(width * 0.28)], Qt.Orientation.Horizontal)
        self.resizeDocks([self.steps_dock, self.overview_dock], [3, 2],
                         Qt.Orientation.Vertical)
        QTimer.singleShot(0, self.inputs.balance)  # once the docks have their sizes

    def _default_size(self) -> None:
        """1280x800 where the screen has room, 90% of a larger screen (a 1920x1080
        projector gets room), and never more than the screen (a 1280x720 projector)."""
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        if screen is None:
            self.resize(1280, 800)
            return
        width, height = screen.width(), screen.height()
        if width > 1280 and height > 800:
            self.resize(max(1280, int(width * 0.9)), max(800, int(height * 0.9)))
        else:
            self.resize(min(1280, width), min(800, height))

    def save_settings(self) -> None:
        """Save the normal layout (never presentation mode's), the texts and the model."""
        presentation = getattr(self, "presentation", None)
        normal = presentation.normal_layout() if presentation is not None else None
        geometry, state = normal or (self.saveGeometry(), self.saveState())
        self.settings.setValue("window/geometry", geometry)
        self.settings.setValue("window/state", state)
        text, note = bounded_text(self.inputs.text.toPlainText(), "The text")
        context, context_note = bounded_text(self.inputs.context.toPlainText(), "The context")
        self.settings.setValue("input/text", text)
        self.settings.setValue("input/context", context)
        compare, _ = bounded_text(self.inputs.compare.toPlainText(), "Text B")
        self.settings.setValue("input/compare", compare)
        self.settings.setValue("input/compare_shown", self.inputs.compare_visible())
        self.settings.setValue(NOTE_KEY, " ".join(n for n in (note, context_note) if n))
        if self.session is not None:
            self.settings.setValue("model/arch", self.session.arch)
        self.settings.sync()

