"""Zooming every font of a window: the application font, fonts set on a widget itself,
pyqtgraph axes and text drawn in plots. Zoomed in, crowded token labels are thinned
rather than shrunk below 18 px. ``FontZoom.set(1.0)`` puts every original back."""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QApplication,
    QGraphicsSimpleTextItem,
    QGraphicsTextItem,
    QWidget,
)

from explorer.ui.widgets.token_axis import TokenAxis

PROJECTED_POINTS = 13.5  # 18 px at 96 dpi: the smallest text on a projected slide
NORMAL_MIN_POINTS = TokenAxis.min_points


class FontZoom:
    """Scales the application font, every widget font set explicitly under ``root``, and the
    tick and label fonts of pyqtgraph axes; ``set(1.0)`` puts every original back."""

    def __init__(self, root: QWidget) -> None:
        self.root = root
        self.factor = 1.0
        self._app_font: QFont | None = None
        self._widgets: dict[QWidget, QFont] = {}
        self._axes: dict[Any, tuple[QFont | None, QFont]] = {}
        self._texts: dict[Any, QFont] = {}  # text items drawn in plots (cell values, notes)
        self._token_fonts: dict[Any, QFont] = {}

    def set(self, factor: float) -> None:
        app = QApplication.instance()
        if self._app_font is None:
            self._app_font = QFont(app.font())
        self.factor = factor
        if factor == 1.0:
            self._restore(app)
            return
        app.setFont(self._scaled(self._app_font))
        widgets = [self.root, *self.root.findChildren(QWidget)]
        for widget in widgets:  # first every original, before any parent's change reaches
            # a child: only fonts set on the widget itself, the rest follow their parent
            if widget not in self._widgets and \
                    widget.testAttribute(Qt.WidgetAttribute.WA_SetFont):
                self._widgets[widget] = QFont(widget.font())
        for widget, font in self._widgets.items():
            try:
                widget.setFont(self._scaled(font))
            except RuntimeError:  # deleted meanwhile
                continue
        token_axes = []
        for view in self.root.findChildren(pg.GraphicsView):
            for item in view.scene().items():
                if isinstance(item, TokenAxis):
                    token_axes.append(item)
                if isinstance(item, pg.AxisItem):
                    self._zoom_axis(item)
                elif isinstance(item, (QGraphicsTextItem, QGraphicsSimpleTextItem)):
                    if item not in self._texts:
                        self._texts[item] = QFont(item.font())
                    item.setFont(self._scaled(self._texts[item]))
        # zoomed in, crowded token labels are thinned rather than shrunk below 18 px
        TokenAxis.set_min_points(PROJECTED_POINTS if factor > 1 else NORMAL_MIN_POINTS,
                                 token_axes)

    def _zoom_axis(self, axis: pg.AxisItem) -> None:
        if isinstance(axis, TokenAxis):  # its own font, shrunk or thinned when crowded
            if axis not in self._token_fonts:
                self._token_fonts[axis] = axis.base_font
            axis.set_font(self._scaled(self._token_fonts[axis]))
            return
        if axis not in self._axes:
            tick = axis.style.get("tickFont")
            self._axes[axis] = (QFont(tick) if tick is not None else None,
                                QFont(axis.label.font()), axis.fixedWidth)
        tick, label, width = self._axes[axis]
        axis.setStyle(tickFont=self._scaled(tick if tick is not None else self._app_font))
        axis.label.setFont(self._scaled(label))
        if width is not None:  # a fixed-width axis (the colour bar's) widens with its text,
            axis.setWidth(width * self.factor)  # or its tick labels are dropped
        axis.update()

    def _scaled(self, font: QFont) -> QFont:
        out = QFont(font)
        if font.pointSizeF() > 0:
            out.setPointSizeF(font.pointSizeF() * self.factor)
        elif font.pixelSize() > 0:
            out.setPixelSize(max(1, round(font.pixelSize() * self.factor)))
        return out

    def _restore(self, app: QApplication) -> None:
        axes = [item for view in self.root.findChildren(pg.GraphicsView)
                for item in view.scene().items() if isinstance(item, TokenAxis)]
        TokenAxis.set_min_points(NORMAL_MIN_POINTS, axes)
        if self._app_font is not None:
            app.setFont(self._app_font)
        for widget, font in self._widgets.items():
            try:
                widget.setFont(font)
            except RuntimeError:  # deleted meanwhile
                continue
        for axis, (tick, label, width) in self._axes.items():
            try:
                axis.setStyle(tickFont=tick)
                axis.label.setFont(label)
                if width is not None:
                    axis.setWidth(width)
                axis.update()
            except RuntimeError:
                continue
        for item, font in self._texts.items():
            try:
                item.setFont(font)
            except RuntimeError:
                continue
        for axis, font in self._token_fonts.items():
            try:
                axis.set_font(font)
            except RuntimeError:
                continue
        self._widgets.clear()
        self._axes.clear()
        self._texts.clear()
        self._token_fonts.clear()
        self._app_font = None
