"""Presentation mode for lectures. The window owns both controllers (``window.presentation``
and ``window.scenes``), each made with the window:

- ``PresentationController``: F5 / F11 toggle presentation mode (full screen, fonts and
  plot axis labels zoomed, a high-contrast light or dark palette, docks, menus and bars
  hidden, a big step counter and title over the centre, a laser-pointer dot following the
  mouse); Ctrl+plus / Ctrl+minus / Ctrl+0 zoom in any mode; Escape leaves. The window's own
  stepping keys (arrows, PageUp/PageDown from a clicker) keep working. Leaving restores
  fonts, palette, panels and the window state.
- ``SceneController`` (scene_actions.py): save/open scenes and lectures, export and copy views.
"""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, Qt, QTimer
from PySide6.QtGui import QAction, QColor, QCursor, QFont, QPainter, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QLabel,
    QMainWindow,
    QToolBar,
    QWidget,
)

from explorer.ui.lecture.scenes import SceneController
from explorer.ui.lecture.zoom import FontZoom
from explorer.ui.widgets.actions import make_action
from explorer.ui.widgets.typeset import notation_font, set_typeset

PRESENT_ZOOM = 1.5
ZOOM_STEP = 1.15
ZOOM_MIN, ZOOM_MAX = 0.5, 4.0

__all__ = ["PresentationController", "SceneController", "high_contrast_palette"]


def high_contrast_palette(theme: str) -> QPalette:
    """Black on white or white on black, with a saturated highlight: readable on a projector."""
    dark = theme == "dark"
    fg, bg = (QColor("white"), QColor("black")) if dark else (QColor("black"), QColor("white"))
    base = QColor(20, 20, 20) if dark else QColor("white")
    button = QColor(45, 45, 45) if dark else QColor(235, 235, 235)
    highlight = QColor(255, 200, 0) if dark else QColor(0, 70, 200)
    palette = QPalette()
    role = QPalette.ColorRole
    for r, c in ((role.Window, bg), (role.WindowText, fg), (role.Base, base),
                 (role.AlternateBase, button), (role.Text, fg), (role.Button, button),
                 (role.ButtonText, fg), (role.BrightText, highlight), (role.ToolTipBase, bg),
                 (role.ToolTipText, fg), (role.Highlight, highlight),
                 (role.HighlightedText, bg if dark else QColor("white"))):
        palette.setColor(r, c)
    return palette


class LaserPointer(QWidget):
    """A translucent red dot over the centre view, following the mouse; clicks pass through."""

    RADIUS = 14

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.point: QPointF | None = None
        self.hide()

    def follow(self) -> None:
        self.setGeometry(self.parentWidget().rect())
        local = self.mapFromGlobal(QCursor.pos())
        inside = self.rect().contains(local)
        self.point = QPointF(local) if inside else None
        self.raise_()
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if self.point is None:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        for radius, alpha in ((self.RADIUS * 1.8, 50), (self.RADIUS, 110), (5, 230)):
            painter.setBrush(QColor(255, 0, 0, alpha))
            painter.drawEllipse(self.point, radius, radius)


class PresentationController(QObject):
    """Presentation mode and zoom for a window (see the module docstring)."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.presenting = False
        self.theme = "light"
        self.zoom_factor = 1.0
        self.fonts = FontZoom(window)
        self._saved: dict[str, Any] = {}
        self.overlay = QLabel(window)
        self.overlay.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.overlay.setObjectName("presentation-overlay")
        self.overlay.hide()
        centre = window.centralWidget() or window
        self.laser = LaserPointer(centre)
        self._build_actions()
        views_updated = getattr(window, "views_updated", None)
        if views_updated is not None:
            views_updated.connect(self._update_overlay)
        tabs = getattr(window, "tabs", None)
        if tabs is not None:
            tabs.currentChanged.connect(self._update_overlay)

    def _build_actions(self) -> None:
        w = self.window

        def action(text: str, keys: list, slot, tip: str) -> QAction:
            return make_action(w, text, slot, keys, tip)

        self.toggle_action = action("Presentation mode", ["F5", "F11"], self.toggle,
                                    "Full screen, big fonts, high contrast (F5 / F11; Esc "
                                    "leaves)")
        self.toggle_action.setCheckable(True)
        self.dark_action = action("Dark presentation theme", [], self._on_dark_toggled,
                                  "White on black for dark rooms (presentation mode)")
        self.dark_action.setCheckable(True)
        self.zoom_in_action = action("Zoom in", ["Ctrl++", "Ctrl+="], self.zoom_in,
                                     "Bigger fonts and labels (Ctrl+plus)")
        self.zoom_out_action = action("Zoom out", ["Ctrl+-"], self.zoom_out,
                                      "Smaller fonts and labels (Ctrl+minus)")
        self.zoom_reset_action = action("Normal size", ["Ctrl+0"], lambda: self.set_zoom(1.0),
                                        "Fonts at their normal size (Ctrl+0)")
        self.leave_action = action("Leave presentation mode", ["Esc"], self.leave,
                                   "Leave presentation mode (Esc)")
        self.leave_action.setEnabled(False)
        menus = getattr(w, "menus", None)
        menu = menus.view_menu if menus is not None else None
        if menu is None:
            menu = w.menuBar().addMenu("&View")
        menu.addSeparator()
        for act in (self.toggle_action, self.dark_action, self.zoom_in_action,
                    self.zoom_out_action, self.zoom_reset_action):
            menu.addAction(act)

    # -- zoom ------------------------------------------------------------------------------
    def set_zoom(self, factor: float) -> None:
        """Scale every font and axis label by ``factor`` (1.0: as designed)."""
        factor = max(ZOOM_MIN, min(ZOOM_MAX, round(float(factor), 3)))
        self.zoom_factor = factor
        self.fonts.set(factor)
        for view in self.window.findChildren(QWidget):
            setter = getattr(view, "set_font_scale", None)
            if callable(setter):
                setter(factor)
        self._update_overlay()

    def zoom_in(self) -> None:
        self.set_zoom(self.zoom_factor * ZOOM_STEP)

    def zoom_out(self) -> None:
        self.set_zoom(self.zoom_factor / ZOOM_STEP)

    # -- the mode --------------------------------------------------------------------------
    def toggle(self) -> None:
        if self.presenting:
            self.leave()
        else:
            self.enter()

    def enter(self) -> None:
        if self.presenting:
            return
        w = self.window
        app = QApplication.instance()
        self._saved = {
            "layout": (w.saveGeometry(), w.saveState()),  # what a quit now should save
            "state": w.windowState(), "zoom": self.zoom_factor, "palette": QPalette(w.palette()),
            "app_palette": QPalette(app.palette()),
            "hidden": [x for x in (*w.findChildren(QDockWidget), *w.findChildren(QToolBar))
                       if x.isVisible() and x.parentWidget() is w],
            # of docks tabbed together, the one in front (showing them again raises the
            # last one shown)
            "front": [x for x in w.findChildren(QDockWidget)
                      if x.parentWidget() is w and not x.visibleRegion().isEmpty()],
            "menu": w.menuBar().isVisible(), "status": w.statusBar().isVisible(),
            "backgrounds": {v: v.backgroundBrush() for v in w.findChildren(pg.GraphicsView)},
            "axes": {a: (a.pen(), a.textPen()) for v in w.findChildren(pg.GraphicsView)
                     for a in v.scene().items() if isinstance(a, pg.AxisItem)},
        }
        self.presenting = True
        for panel in self._saved["hidden"]:
            panel.hide()
        w.menuBar().hide()
        w.statusBar().hide()
        self.set_zoom(max(self.zoom_factor, PRESENT_ZOOM))
        self._apply_palette()
        w.showFullScreen()
        QTimer.singleShot(0, self._fill_screen)
        self.toggle_action.setChecked(True)
        self.leave_action.setEnabled(True)
        self.overlay.show()
        self._update_overlay()
        self.laser.show()
        app.installEventFilter(self)
        focus = getattr(w, "focus_steps", None)
        if callable(focus):
            focus()

    def _fill_screen(self) -> None:
        """Full screen means the whole screen, also where no window manager honours the
        request (a bare X server, some projector setups)."""
        w = self.window
        screen = w.screen()
        if self.presenting and screen is not None and w.geometry() != screen.geometry():
            w.setGeometry(screen.geometry())

    def normal_layout(self) -> tuple[Any, Any] | None:
        """(geometry, dock and toolbar state) of the window as it was before presentation
        mode, while it is on; None when it is off (the window's own layout is normal)."""
        return self._saved["layout"] if self.presenting else None

    def leave(self) -> None:
        if not self.presenting:
            return
        w = self.window
        app = QApplication.instance()
        saved = self._saved
        app.removeEventFilter(self)
        self.presenting = False
        self.laser.hide()
        self.overlay.hide()
        app.setPalette(saved["app_palette"])
        w.setPalette(saved["palette"])
        for view, brush in saved["backgrounds"].items():
            try:
                view.setBackgroundBrush(brush)
            except RuntimeError:
                continue
        for axis, (pen, text_pen) in saved["axes"].items():
            try:
                axis.setPen(pen)
                axis.setTextPen(text_pen)
            except RuntimeError:
                continue
        self.set_zoom(saved["zoom"])
        w.menuBar().setVisible(saved["menu"])
        w.statusBar().setVisible(saved["status"])
        for panel in saved["hidden"]:
            panel.show()
        for dock in saved["front"]:
            dock.raise_()
        w.setWindowState(saved["state"])
        w.restoreGeometry(saved["layout"][0])
        self.toggle_action.setChecked(False)
        self.leave_action.setEnabled(False)
        self._saved = {}

    def set_theme(self, theme: str) -> None:
        """"light" or "dark" (applied now when presenting, else on entering)."""
        if theme not in ("light", "dark"):
            raise ValueError(f"theme {theme!r}: choose light or dark")
        self.theme = theme
        self.dark_action.setChecked(theme == "dark")
        if self.presenting:
            self._apply_palette()

    def _on_dark_toggled(self, checked: bool) -> None:
        self.set_theme("dark" if checked else "light")

    def _apply_palette(self) -> None:
        palette = high_contrast_palette(self.theme)
        QApplication.instance().setPalette(palette)
        self.window.setPalette(palette)
        background = QColor("black") if self.theme == "dark" else QColor("white")
        for view in self._saved.get("backgrounds", {}):
            view.setBackground(background)
        for axis, (pen, text_pen) in self._saved.get("axes", {}).items():
            dark = self.theme == "dark"
            axis.setPen(pg.mkPen("w") if dark else pen)
            axis.setTextPen(pg.mkPen("w") if dark else text_pen)
        self._update_overlay()

    # -- overlay and pointer ---------------------------------------------------------------
    def overlay_text(self) -> str:
        """The window's step; "" (no overlay) on a tab whose panel names what it shows
        itself (``Panel.own_title``: the Side by side tab steps its own models)."""
        tabs = getattr(self.window, "tabs", None)
        shown = tabs.currentWidget() if tabs is not None else None
        if any(p.widget is shown and p.own_title for p in getattr(self.window, "panels", ())):
            return ""
        session = getattr(self.window, "session", None)
        step = getattr(session, "step", None) if session is not None else None
        if step is None:
            return "Transformer Explorer"
        return f"Step {session.step_index + 1} / {len(session.steps)}   ·   {step.title}"

    def _update_overlay(self) -> None:
        if not self.presenting:
            return
        font = QFont(QApplication.font())
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.overlay.setFont(notation_font(font))
        dark = self.theme == "dark"
        self.overlay.setStyleSheet(
            "padding: 8px 16px; border-radius: 6px;"
            + ("background: rgba(255,255,255,220); color: black;" if dark
               else "background: rgba(0,0,0,200); color: white;"))
        tabs = getattr(self.window, "tabs", None)
        used = tabs.tabBar().sizeHint().width() if tabs is not None else 0
        room = max(200, self.window.width() - used - 36)
        metrics = self.overlay.fontMetrics()
        text = metrics.elidedText(self.overlay_text(), Qt.TextElideMode.ElideRight, room - 40)
        self.overlay.setVisible(bool(text))
        set_typeset(self.overlay, text)
        self.overlay.adjustSize()
        self.overlay.move(self.window.width() - self.overlay.width() - 12, 2)
        self.overlay.raise_()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        kind = event.type()
        if kind == QEvent.Type.MouseMove:
            self.laser.follow()
        elif kind == QEvent.Type.Resize and obj is self.window:
            self._update_overlay()
        return False
