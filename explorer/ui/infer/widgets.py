"""The Infer tab's drawings: ranked probability bars and the growing cross-attention matrix.

``RankedBars`` draws a distribution's top candidates as horizontal bars (the chosen one
highlighted, p outlined when it differs from q); ``CrossAttentionMatrix`` one row per
generated token over the context tokens (Algorithm 15 as it runs).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from explorer.ui.widgets.style import (
    MUTED_COLOR,
    SELECTION_COLOR,
    TEXT_COLOR,
    percent,
    probs_to_rgba,
    scaled_font,
    text_color_on,
    visible_token,
)

BAR_COLOR = QColor(33, 102, 172)
GHOST_COLOR = QColor(90, 90, 90)


class RankedBars(QWidget):
    """Horizontal bars on a 0..1 scale: (label, value, outline value or None, highlighted)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[tuple[str, float, float | None, bool]] = []
        self.message = ""
        self.mark = "◀ chosen"  # written after the highlighted bar when there is room
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(220, 120)

    def set_rows(self, rows: list[tuple[str, float, float | None, bool]],
                 message: str = "") -> None:
        self.rows, self.message = list(rows), message
        self.setMinimumHeight(max(120, 34 + 30 * len(self.rows)))
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(520, max(160, 34 + 36 * len(self.rows)))

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.fillRect(self.rect(), QColor(255, 255, 255))
        font, bold, small = (scaled_font(self, 1.1), scaled_font(self, 1.1, True),
                             scaled_font(self, 0.95))
        if not self.rows:
            painter.setPen(MUTED_COLOR)
            painter.setFont(font)
            painter.drawText(self.rect().adjusted(8, 8, -8, -8),
                             int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap),
                             self.message)
            return
        metrics = QFontMetricsF(bold)
        label_w = min(self.width() * 0.4,
                      max(metrics.horizontalAdvance(r[0]) for r in self.rows) + 12)
        left, top = label_w + 14, 26.0
        width = max(20.0, self.width() - left - 16)
        tallest = 56.0 if len(self.rows) <= 4 else 36.0
        row_h = min(tallest, max(22.0, (self.height() - top - 4) / len(self.rows)))
        painter.setFont(small)
        for frac in (0.0, 0.25, 0.5, 0.75, 1.0):
            x = left + frac * width
            painter.setPen(QPen(QColor(225, 225, 225), 1))
            painter.drawLine(int(x), int(top - 2), int(x), self.height())
            painter.setPen(MUTED_COLOR)
            painter.drawText(QRectF(x - 30, 0, 60, top - 4), int(Qt.AlignmentFlag.AlignCenter),
                             f"{frac:g}")
        for i, (label, value, ghost, chosen) in enumerate(self.rows):
            y = top + i * row_h
            painter.setFont(bold if chosen else font)
            painter.setPen(SELECTION_COLOR.darker(140) if chosen else TEXT_COLOR)
            text = metrics.elidedText(label, Qt.TextElideMode.ElideRight, label_w - 4)
            painter.drawText(QRectF(2, y, label_w, row_h),
                             int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), text)
            bar = QRectF(left, y + 3, max(1.0, value * width), row_h - 6)
            painter.fillRect(bar, SELECTION_COLOR if chosen else BAR_COLOR)
            right = bar.right()
            if ghost is not None:
                painter.setPen(QPen(GHOST_COLOR, 2, Qt.PenStyle.DashLine))
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRect(QRectF(left, y + 4, ghost * width, row_h - 8))
                right = max(right, left + ghost * width)
            painter.setFont(bold if chosen else font)
            value_text = percent(value)
            with_mark = f"{value_text}   {self.mark}" if chosen and self.mark else value_text
            room = self.width() - right - 8
            if metrics.horizontalAdvance(with_mark) <= room:
                target, value_text = QRectF(right + 6, y, room, row_h), with_mark
            elif metrics.horizontalAdvance(value_text) <= room:
                target = QRectF(right + 6, y, room, row_h)
            else:  # a long bar: the value inside it, in white
                painter.setPen(QColor(255, 255, 255))
                painter.drawText(QRectF(left, y, bar.width() - 8, row_h),
                                 int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                                 value_text)
                continue
            painter.setPen(TEXT_COLOR)
            painter.drawText(target, int(Qt.AlignmentFlag.AlignLeft
                                         | Qt.AlignmentFlag.AlignVCenter), value_text)


class CrossAttentionMatrix(QWidget):
    """Rows: generated tokens; columns: context tokens; cells: attention weights 0..1."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.values = np.zeros((0, 0), dtype=np.float32)
        self.rows: list[str] = []
        self.cols: list[str] = []
        self.setMinimumSize(220, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_data(self, values: np.ndarray, rows: list[str], cols: list[str]) -> None:
        self.values, self.rows, self.cols = values, list(rows), list(cols)
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(520, 360)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(255, 255, 255))
        font = scaled_font(self, 1.05)
        painter.setFont(font)
        metrics = QFontMetricsF(font)
        if not self.cols:
            painter.setPen(MUTED_COLOR)
            painter.drawText(self.rect(), int(Qt.AlignmentFlag.AlignCenter),
                             "Generate to see each token's cross-attention here.")
            return
        labels = [visible_token(c) for c in self.cols]
        left = min(self.width() * 0.3,
                   max([metrics.horizontalAdvance(visible_token(r)) for r in self.rows] +
                       [metrics.horizontalAdvance("generated")]) + 14)
        cell_w = max(8.0, (self.width() - left - 8) / len(self.cols))
        turned = max(metrics.horizontalAdvance(t) for t in labels) + 8 > cell_w
        top = (max(metrics.horizontalAdvance(t) for t in labels) + 12 if turned
               else metrics.height() + 10)
        n = max(len(self.rows), 1)
        cell_h = min(cell_w, max(12.0, (self.height() - top - 6) / n), 48.0)
        painter.setPen(TEXT_COLOR)
        for j, text in enumerate(labels):
            x = left + j * cell_w
            if turned:
                painter.save()
                painter.translate(x + cell_w / 2 + metrics.ascent() / 2 - 2, top - 6)
                painter.rotate(-90)
                painter.drawText(0, 0, text)
                painter.restore()
            else:
                painter.drawText(QRectF(x, 0, cell_w, top - 4),
                                 int(Qt.AlignmentFlag.AlignCenter), text)
        if not self.rows:
            return
        rgba = probs_to_rgba(np.asarray(self.values, dtype=np.float64))
        show_values = cell_w >= metrics.horizontalAdvance("0.00") + 6 and cell_h >= 20
        small = scaled_font(self, 0.9)
        for i, row in enumerate(self.rows):
            y = top + i * cell_h
            painter.setFont(font)
            painter.setPen(TEXT_COLOR)
            painter.drawText(QRectF(0, y, left - 8, cell_h),
                             int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                             visible_token(row))
            for j in range(len(self.cols)):
                cell = QRectF(left + j * cell_w, y, cell_w, cell_h)
                color = rgba[i, j]
                painter.fillRect(cell, QColor(int(color[0]), int(color[1]), int(color[2])))
                if show_values:
                    painter.setFont(small)
                    painter.setPen(text_color_on(color))
                    painter.drawText(cell, int(Qt.AlignmentFlag.AlignCenter),
                                     f"{self.values[i, j]:.2f}")
        last = QRectF(left, top + (len(self.rows) - 1) * cell_h, cell_w * len(self.cols), cell_h)
        painter.setPen(QPen(SELECTION_COLOR, 3))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(last)
        self._paint_legend(painter, left, top + len(self.rows) * cell_h + 10, small)

    def _paint_legend(self, painter: QPainter, left: float, y: float, font) -> None:
        """The colour scale, 0 to 1, under the matrix (when there is room)."""
        height = QFontMetricsF(font).height()
        if y + height > self.height():
            return
        painter.setFont(font)
        painter.setPen(TEXT_COLOR)
        painter.drawText(QRectF(left - 60, y, 54, height),
                         int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), "0")
        steps = np.linspace(0.0, 1.0, 64)[None, :]
        colors = probs_to_rgba(steps)[0]
        width = max(40.0, min(200.0, self.width() - left - 30))
        for k, c in enumerate(colors):
            painter.fillRect(QRectF(left + k * width / 64, y + 2, width / 64 + 1, height - 4),
                             QColor(int(c[0]), int(c[1]), int(c[2])))
        painter.drawText(QRectF(left + width + 6, y, 30, height),
                         int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), "1")
