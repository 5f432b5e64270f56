"""Direct logit attribution at one position: a layers × heads heatmap of each head's push
on the target's logit, and bars for the embeddings, attention biases, MLPs and the
remainder (the norms' β and the W_u bias), which add up to the real logit.

Public API (``AttributionView``, a painted QWidget):

- ``set_attribution(dla, what)``: an ``explorer.analysis.Attribution`` and a sentence
  saying which logit at which position; ``clear(message)``; ``message``.
- signal ``head_clicked(str, int, int)``: (the attention step, e.g. ``blocks.1.attn``,
  0-based layer, 0-based head) of the heatmap cell clicked.
- ``head_rows()`` -> [(label, kind, layer)], ``cell_rect(row, head)``, ``bars()`` ->
  [(label, value)] (the remainder last), ``export_parts()``.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QToolTip, QWidget

from explorer.analysis import Attribution
from explorer.ui.lens.cells import diverging_rgba
from explorer.ui.widgets.export_parts import Caption, Table, ViewParts
from explorer.ui.widgets.style import MUTED_COLOR, TEXT_COLOR, scaled_font, text_color_on

NOTE = "red pushes the target up, blue down · click a head to open its pattern"
POSITIVE = QColor("#b2182b")
NEGATIVE = QColor("#2166ac")


class AttributionView(QWidget):
    """Which part of the residual stream pushes the target (see the module docstring)."""

    head_clicked = Signal(str, int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self._dla: Attribution | None = None
        self._what = ""
        self._message = "Type some text to see which heads push the model's prediction."
        self._rows: list[tuple[str, str, int]] = []
        self._relayout()

    # -- public API ----------------------------------------------------------------------
    def set_attribution(self, dla: Attribution, what: str) -> None:
        self._dla = dla
        self._what = what
        self._message = ""
        self._rows = []
        kinds = {p.kind for p in dla.parts}
        for layer in range(dla.n_layers):
            self._rows.append((f"L{layer + 1}", "head", layer))
            if "cross_head" in kinds:
                self._rows.append((f"L{layer + 1} cross", "cross_head", layer))
        self._relayout()
        self.update()

    def clear(self, message: str) -> None:
        self._dla = None
        self._message = message
        self._rows = []
        self._relayout()
        self.update()

    @property
    def message(self) -> str:
        return self._message

    @property
    def attribution(self) -> Attribution | None:
        return self._dla

    def head_rows(self) -> list[tuple[str, str, int]]:
        return list(self._rows)

    def bars(self) -> list[tuple[str, float]]:
        dla = self._dla
        if dla is None:
            return []
        out = [(p.label, float(v)) for p, v in zip(dla.parts, dla.values.tolist())
               if p.kind not in ("head", "cross_head")]
        heads = sum(float(v) for p, v in zip(dla.parts, dla.values.tolist())
                    if p.kind in ("head", "cross_head"))
        out.insert(0, ("all heads (the heatmap)", heads))
        out.append(("remainder (norms' β, W_u bias)", float(dla.remainder)))
        return out

    # -- geometry ------------------------------------------------------------------------
    def _relayout(self) -> None:
        self._font = scaled_font(self, 1.0)
        self._bold = scaled_font(self, 1.05, bold=True)
        self._small = scaled_font(self, 0.9)
        fm = QFontMetrics(self._font)
        self._line = fm.height()
        self._left = max([fm.horizontalAdvance(r[0]) for r in self._rows] + [40]) + 18
        self._cell_w = max(70, fm.horizontalAdvance("−00.00") + 20)
        self._cell_h = self._line + 18
        self._top = 4 * self._line + 22  # title, two lines of notes, head numbers
        n_heads = self._dla.n_heads if self._dla is not None else 0
        grid_w = self._left + n_heads * self._cell_w
        grid_h = self._top + len(self._rows) * self._cell_h
        bar_labels = [b[0] for b in self.bars()]
        self._bar_left = max([fm.horizontalAdvance(s) for s in bar_labels] + [80]) + 20
        self._bar_w = 360
        self._bar_h = self._line + 10
        self._bars_x = 8
        self._bars_top = grid_h + 2 * self._line + 20  # under the heatmap, after a heading
        width = max(grid_w + 20, self._bars_x + self._bar_left + self._bar_w + 90,
                    QFontMetrics(self._small).horizontalAdvance(NOTE) + 24)
        height = self._bars_top + len(bar_labels) * self._bar_h + 16
        if self._dla is None:
            width, height = 400, 120
        self._size = QSize(width, height)
        self.setMinimumSize(self._size)
        self.updateGeometry()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:  # zoom, presentation mode
            self._relayout()
            self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return self._size

    def cell_rect(self, row: int, head: int) -> QRect:
        return QRect(self._left + head * self._cell_w, self._top + row * self._cell_h,
                     self._cell_w, self._cell_h)

    def _hit(self, pos: QPoint) -> tuple[int, int] | None:
        if self._dla is None or pos.x() < self._left or pos.y() < self._top:
            return None
        head = (pos.x() - self._left) // self._cell_w
        row = (pos.y() - self._top) // self._cell_h
        if 0 <= row < len(self._rows) and 0 <= head < self._dla.n_heads:
            return int(row), int(head)
        return None

    def _value(self, row: int, head: int) -> float:
        _, kind, layer = self._rows[row]
        return float(self._dla.grid(kind)[layer, head])

    def _limit(self) -> float:
        """The heatmap's colour scale: ± the largest head value."""
        values = [abs(v) for p, v in zip(self._dla.parts, self._dla.values.tolist())
                  if p.kind in ("head", "cross_head") and math.isfinite(v)]
        return max(values + [1e-6])

    # -- painting ------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("white"))
        dla = self._dla
        if dla is None:
            p.setFont(self._font)
            p.setPen(MUTED_COLOR)
            p.drawText(self.rect().adjusted(12, 12, -12, -12),
                       Qt.TextFlag.TextWordWrap | Qt.AlignmentFlag.AlignLeft, self._message)
            p.end()
            return
        p.setFont(self._bold)
        p.setPen(TEXT_COLOR)
        p.drawText(QRect(8, 4, self._size.width() - 16, self._line + 4),
                   Qt.AlignmentFlag.AlignLeft, self._what)
        p.setFont(self._small)
        p.setPen(MUTED_COLOR)
        p.drawText(QRect(8, self._line + 8, self._size.width() - 16, self._line + 4),
                   Qt.AlignmentFlag.AlignLeft,
                   f"parts + remainder = {dla.total:.3f} = the model's logit {dla.logit:.3f}")
        p.drawText(QRect(8, 2 * self._line + 10, self._size.width() - 16, self._line + 4),
                   Qt.AlignmentFlag.AlignLeft, NOTE)
        limit = self._limit()
        p.setFont(self._font)
        p.setPen(TEXT_COLOR)
        for h in range(dla.n_heads):
            p.drawText(QRect(self._left + h * self._cell_w, self._top - self._line - 6,
                             self._cell_w, self._line + 4), Qt.AlignmentFlag.AlignCenter,
                       f"H{h + 1}")
        for r, (label, _kind, _layer) in enumerate(self._rows):
            p.setPen(TEXT_COLOR)
            p.drawText(QRect(0, self._top + r * self._cell_h, self._left - 8, self._cell_h),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, label)
            for h in range(dla.n_heads):
                v = self._value(r, h)
                rect = self.cell_rect(r, h)
                rgba = diverging_rgba(np.array([v]), limit)[0]
                p.fillRect(rect, QColor(*(int(c) for c in rgba)))
                p.setPen(QPen(QColor("#e5e7eb"), 1))
                p.drawRect(rect)
                p.setPen(text_color_on(rgba))
                p.drawText(rect, Qt.AlignmentFlag.AlignCenter,
                           "" if not math.isfinite(v) else f"{v:+.2f}")
        self._paint_bars(p, limit)
        p.end()

    def _paint_bars(self, p: QPainter, limit: float) -> None:
        bars = self.bars()
        limit = max([abs(v) for _, v in bars] + [1e-6])
        x0 = self._bars_x + self._bar_left
        zero = x0 + self._bar_w / 2
        half = self._bar_w / 2 - 4
        p.setFont(self._small)
        p.setPen(TEXT_COLOR)
        p.setFont(self._bold)
        p.drawText(QRect(self._bars_x, self._bars_top - self._line - 10, 800, self._line + 4),
                   Qt.AlignmentFlag.AlignLeft, "the other parts (and all heads together)")
        p.setFont(self._font)
        for i, (label, v) in enumerate(bars):
            y = self._bars_top + i * self._bar_h
            p.setPen(TEXT_COLOR)
            p.drawText(QRect(self._bars_x, y, self._bar_left - 10, self._bar_h),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, label)
            w = half * v / limit
            rect = QRectF(min(zero, zero + w), y + 3, abs(w), self._bar_h - 6)
            p.fillRect(rect, POSITIVE if v >= 0 else NEGATIVE)
            p.setPen(TEXT_COLOR)
            text_x = zero + w + 6 if v >= 0 else zero + w - 66
            p.drawText(QRectF(text_x, y, 60, self._bar_h),
                       (Qt.AlignmentFlag.AlignLeft if v >= 0 else Qt.AlignmentFlag.AlignRight)
                       | Qt.AlignmentFlag.AlignVCenter, f"{v:+.2f}")
        p.setPen(QPen(MUTED_COLOR, 1))
        p.drawLine(int(zero), self._bars_top - 2, int(zero),
                   self._bars_top + len(bars) * self._bar_h)

    # -- mouse -----------------------------------------------------------------------------
    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        hit = self._hit(event.position().toPoint())
        if hit is None:
            QToolTip.hideText()
            return
        label, kind, layer = self._rows[hit[0]]
        what = "cross-attention" if kind == "cross_head" else "attention"
        QToolTip.showText(event.globalPosition().toPoint(),
                          f"layer {layer + 1} {what} head {hit[1] + 1}: "
                          f"{self._value(*hit):+.4f} on the logit\nclick: open its pattern",
                          self)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        hit = self._hit(event.position().toPoint())
        if hit is None:
            return
        _, kind, layer = self._rows[hit[0]]
        part = next(p for p in self._dla.parts if p.kind == kind and p.layer == layer
                    and p.head == hit[1])
        self.head_clicked.emit(part.step, layer, hit[1])

    def export_parts(self) -> ViewParts:
        if self._dla is None:
            return ViewParts(self, Caption("Direct logit attribution"), None)
        values = np.array([[self._value(r, h) for h in range(self._dla.n_heads)]
                           for r in range(len(self._rows))])
        return ViewParts(self, Caption("Direct logit attribution: " + self._what,
                                       "layers × heads",
                                       "⟨W_u[target], norm-scaled part⟩"),
                         Table(values, [r[0] for r in self._rows],
                               [f"H{h + 1}" for h in range(self._dla.n_heads)],
                               "layer", "head"))
