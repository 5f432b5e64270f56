"""The window's layout: default size and dock sizes, and the saved geometry, docks and
texts (restored at start, saved at close). A mixin of ``MainWindow``."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, Qt, QTimer

from explorer.ui.window.settings import NOTE_KEY, bounded_text


class WindowLayout:
    """Expects ``settings``, ``inputs``, ``session`` and the docks of ``MainWindow``."""

    def _restore_layout(self) -> None:
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            self._default_size()
        if isinstance(state, QByteArray):
            self.restoreState(state)
        else:
            self._needs_dock_sizes = True

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        if getattr(self, "_needs_dock_sizes", False):
            self._needs_dock_sizes = False
            QTimer.singleShot(0, self._default_dock_sizes)

    def _default_dock_sizes(self) -> None:
        self.resizeDocks([self.input_dock], [int(self.height() * 0.21)],
                         Qt.Orientation.Vertical)
        width = max(self.width(), 1000)
        self.resizeDocks([self.steps_dock, self.paper_dock],
                         [int(width * 0.22), int(width * 0.3)], Qt.Orientation.Horizontal)
        self.resizeDocks([self.steps_dock, self.overview_dock], [3, 2],
                         Qt.Orientation.Vertical)

    def _default_size(self) -> None:
        """1280x800, or 90% of a larger screen (a 1920x1080 projector gets room)."""
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        if screen is None or screen.width() <= 1280 or screen.height() <= 800:
            self.resize(1280, 800)
            return
        self.resize(max(1280, int(screen.width() * 0.9)), max(800, int(screen.height() * 0.9)))

    def save_settings(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        text, note = bounded_text(self.inputs.text.toPlainText(), "The text")
        context, context_note = bounded_text(self.inputs.context.toPlainText(), "The context")
        self.settings.setValue("input/text", text)
        self.settings.setValue("input/context", context)
        self.settings.setValue(NOTE_KEY, " ".join(n for n in (note, context_note) if n))
        if self.session is not None:
            self.settings.setValue("model/arch", self.session.arch)
        self.settings.sync()

