"""A pyqtgraph axis that labels integer positions with token strings.

Public API: ``TokenAxis(orientation)`` (a ``pg.AxisItem``); ``set_labels(labels)`` puts
``labels[i]`` (whitespace made visible) at position ``i``. A bottom or top axis turns its
labels vertical when they would overlap horizontally, and grows to fit the longest one; when
labels crowd, the font shrinks (to 8 pt) and then only every ``stride``-th label is drawn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFont, QFontMetricsF

from explorer.ui.widgets.style import visible_token

MAX_LABEL_CHARS = 14


def _short(text: str) -> str:
    text = visible_token(text)
    return text if len(text) <= MAX_LABEL_CHARS else text[: MAX_LABEL_CHARS - 1] + "…"


class TokenAxis(pg.AxisItem):
    """Token labels at integer ticks; vertical on a horizontal axis when crowded.

    Crowded labels shrink down to ``min_points`` (8 pt), then only every stride-th is
    drawn. Presentation mode raises the floor (``set_min_points``) so a projected label is
    never smaller than 18 px: it thins the labels instead."""

    min_points = 8.0

    def __init__(self, orientation: str, font: QFont | None = None, **kwargs) -> None:
        self.labels: list[str] = []
        self.rotated = False
        self.stride = 1  # every stride-th label is drawn when even the smallest font is crowded
        super().__init__(orientation, **kwargs)
        self._font = QFont(font) if font is not None else QFont()
        self._draw_font = QFont(self._font)
        self.setTickFont(self._font)
        self.setStyle(tickLength=-6, autoExpandTextSpace=True)

    @classmethod
    def set_min_points(cls, points: float, axes: Sequence[TokenAxis] = ()) -> None:
        """The smallest label size, for every token axis; ``axes`` are laid out again."""
        cls.min_points = float(points)
        for axis in axes:
            axis._relayout(force=True)

    @property
    def base_font(self) -> QFont:
        """The labels' font before any shrinking for crowded labels."""
        return QFont(self._font)

    def set_font(self, font: QFont) -> None:
        self._font = QFont(font)
        self._relayout()

    def set_labels(self, labels: Sequence[str]) -> None:
        self.labels = [_short(s) for s in labels]
        self._relayout(force=True)

    def resizeEvent(self, ev=None) -> None:  # noqa: N802 (Qt name)
        super().resizeEvent(ev)
        self._relayout()

    def _pixels_per_tick(self) -> float:
        view = self.linkedView()
        vertical = self.orientation in ("left", "right")
        if view is not None and view.width() > 0:
            (x0, x1), (y0, y1) = view.viewRange()
            if vertical:
                return view.height() / max(y1 - y0, 1e-9)
            return view.width() / max(x1 - x0, 1e-9)
        length = self.height() if vertical else self.width()
        return length / max(len(self.labels), 1)

    def _relayout(self, force: bool = False) -> None:
        """Choose font size, stride, rotation and the axis' thickness for the labels."""
        if not self.labels:
            return
        spacing = self._pixels_per_tick()
        vertical = self.orientation in ("left", "right")
        font = QFont(self._font)
        widest = max(QFontMetricsF(font).horizontalAdvance(s) for s in self.labels)
        rotated = not vertical and widest + 8 > spacing
        across = vertical or rotated  # labels stacked across their text height
        line = QFontMetricsF(font).height()
        if across and line > spacing:  # shrink, down to the floor
            size = max(min(self.min_points, font.pointSizeF()),
                       font.pointSizeF() * spacing / line)
            font.setPointSizeF(size)
            line = QFontMetricsF(font).height()
        stride = max(1, math.ceil(line / max(spacing, 1e-9))) if across else 1
        widest = max(QFontMetricsF(font).horizontalAdvance(s) for s in self.labels)
        label_extra = self.label.boundingRect().height() * 0.8 + 4 if self.label.isVisible() else 0
        changed = force or stride != self.stride or rotated != self.rotated or (
            font.pointSizeF() != self._draw_font.pointSizeF())
        self.rotated, self.stride, self._draw_font = rotated, stride, font
        if changed:
            self.setTickFont(font)
            ticks = [(i, s) for i, s in enumerate(self.labels) if i % stride == 0]
            self.setTicks([ticks, []])
        if vertical:
            width = widest + 16 + label_extra
            if self.fixedWidth != width:
                self.setWidth(width)
        else:
            height = widest + 18 + label_extra if rotated else None
            if self.fixedHeight != height:
                self.setHeight(height)
        if changed:
            self.picture = None
            self.update()

    def linkedViewChanged(self, view, newRange=None) -> None:  # noqa: N802, N803
        super().linkedViewChanged(view, newRange)
        self._relayout()

    def generateDrawSpecs(self, p):  # noqa: N802 (pyqtgraph name)
        specs = super().generateDrawSpecs(p)
        if specs is None or not self.rotated:
            return specs
        axis_spec, tick_specs, _ = specs
        view = self.linkedView()
        text_specs = []
        if view is not None:
            bounds = self.boundingRect()
            for i, text in enumerate(self.labels):
                if i % self.stride:
                    continue
                x = self.mapFromScene(view.mapViewToScene(QPointF(i, 0))).x()
                if bounds.left() - 1 <= x <= bounds.right() + 1:
                    text_specs.append((x, text))
        return axis_spec, tick_specs, text_specs

    def drawPicture(self, p, axisSpec, tickSpecs, textSpecs):  # noqa: N802, N803
        if not self.rotated:
            super().drawPicture(p, axisSpec, tickSpecs, textSpecs)
            return
        super().drawPicture(p, axisSpec, tickSpecs, [])
        p.setFont(self._draw_font)
        p.setPen(self.textPen())
        metrics = QFontMetricsF(self._draw_font)
        h = metrics.height()
        length = self.height() - 10
        for x, text in textSpecs:
            p.save()
            if self.orientation == "bottom":
                p.translate(x, 8)
                p.rotate(-90)
                p.drawText(QRectF(-length, -h / 2, length, h),
                           int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), text)
            else:
                p.translate(x, self.height() - 8)
                p.rotate(-90)
                p.drawText(QRectF(0, -h / 2, length, h),
                           int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), text)
            p.restore()
