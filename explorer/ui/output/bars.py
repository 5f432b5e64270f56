"""The ranked bars of the output distribution, and the temperature's arithmetic
(q ∝ p^(1/τ), Algorithm 14) behind them."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import (
    QSizePolicy,
    QWidget,
)

from explorer.ui.widgets.style import (
    MUTED_COLOR,
    TEXT_COLOR,
    percent,
    scaled_font,
    visible_token,
)

TAU_MIN, TAU_MAX = 0.05, 5.0
SLIDER_STEPS = 1000
BAR_COLOR = QColor(33, 102, 172)
SECOND_COLOR = QColor(230, 120, 20)  # text B's bars, beside A's
GHOST_COLOR = QColor(90, 90, 90)


def tau_to_slider(tau: float) -> int:
    if tau <= 0:
        return 0
    tau = min(max(tau, TAU_MIN), TAU_MAX)
    frac = math.log(tau / TAU_MIN) / math.log(TAU_MAX / TAU_MIN)
    return 1 + round(frac * (SLIDER_STEPS - 1))


def slider_to_tau(value: int) -> float:
    if value <= 0:
        return 0.0
    frac = (value - 1) / (SLIDER_STEPS - 1)
    return TAU_MIN * (TAU_MAX / TAU_MIN) ** frac


def tempered(logits: np.ndarray, tau: float) -> np.ndarray:
    """Algorithm 14's q ∝ p^(1/τ) = softmax(logits / τ); τ = 0 puts all mass on the arg max."""
    z = np.asarray(logits, dtype=np.float64)
    if tau <= 0:
        q = np.zeros_like(z)
        q[int(np.argmax(z))] = 1.0
        return q
    s = z / tau
    s -= s.max()
    e = np.exp(s)
    return e / e.sum()


def entropy_bits(q: np.ndarray) -> float:
    nz = q[q > 0]
    return max(0.0, float(-(nz * np.log2(nz)).sum()))


def as_numpy(logits) -> np.ndarray:
    """(l, N_V) logits as a float array, without a copy where the tensor allows (float32
    stays float32: ``tempered`` works in float64 one position at a time)."""
    if hasattr(logits, "detach"):
        logits = logits.detach().float().cpu().numpy()
    array = np.asarray(logits)
    if not np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float64)
    if array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise ValueError(f"expected logits of shape (l, N_V), got {array.shape}")
    return array


class BarsCanvas(QWidget):
    """Ranked horizontal bars on an absolute 0..1 scale, probabilities written on them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[tuple[int, str, float, float]] = []
        self.second: list[float] | None = None  # text B's q for each row, when comparing
        self.names = ("A", "B")  # what the bars and the second bars show
        self.show_ghost = False
        self.message = "No output yet."
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(360, 200)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(560, 440)

    def _row_height(self) -> float:
        return min(46.0, max(14.0, (self.height() - 36) / max(len(self.rows), 1)))

    def bar_rect(self, rank: int) -> QRectF:
        """The full-width (probability 1) bar area of row ``rank``."""
        label_w = self._label_width()
        row = self._row_height()
        left = label_w + 16
        return QRectF(left, 28 + rank * row + 3, max(20.0, self.width() - left - 14), row - 6)

    def _label_width(self) -> float:
        metrics = QFontMetricsF(scaled_font(self, 1.15))
        texts = [self._label(i, r) for i, r in enumerate(self.rows)] or ["token"]
        return min(self.width() * 0.4, max(metrics.horizontalAdvance(t) for t in texts) + 8)

    @staticmethod
    def _label(rank: int, row: tuple[int, str, float, float]) -> str:
        return f"{rank + 1}.  {visible_token(row[1])}"

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.fillRect(self.rect(), QColor(255, 255, 255))
        if not self.rows:
            painter.setPen(MUTED_COLOR)
            painter.setFont(scaled_font(self, 1.1))
            painter.drawText(self.rect(), int(Qt.AlignmentFlag.AlignCenter), self.message)
            return
        small = scaled_font(self, 0.95)
        scale = self.bar_rect(0)
        painter.setFont(small)
        for frac in (0.0, 0.25, 0.5, 0.75, 1.0):  # the 0..1 scale, on top
            x = scale.left() + frac * scale.width()
            painter.setPen(QPen(QColor(225, 225, 225), 1))
            painter.drawLine(int(x), 26, int(x), int(self.height() - 4))
            painter.setPen(MUTED_COLOR)
            text = f"{frac:g}"
            w = QFontMetricsF(small).horizontalAdvance(text)
            painter.drawText(QRectF(min(x - w / 2, self.width() - w - 2), 2, w + 2, 22),
                             int(Qt.AlignmentFlag.AlignCenter), text)
        if self.show_ghost:
            painter.setPen(QPen(GHOST_COLOR, 2, Qt.PenStyle.DashLine))
            painter.drawRect(QRectF(6, 6, 22, 14))
            painter.setPen(MUTED_COLOR)
            painter.drawText(QRectF(34, 0, scale.left() - 40, 26),
                             int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                             "p (τ = 1)")
        font = scaled_font(self, 1.15)
        bold = scaled_font(self, 1.15, bold=True)
        metrics = QFontMetricsF(font)
        label_w = self._label_width()
        for rank, row in enumerate(self.rows):
            area = self.bar_rect(rank)
            if self.second is not None:
                area, second_area = self._split(area)
                self._paint_second(painter, second_area, self.second[rank], row[2])
            q, p = row[2], row[3]
            painter.setFont(bold if rank == 0 else font)
            painter.setPen(TEXT_COLOR)
            label = metrics.elidedText(self._label(rank, row), Qt.TextElideMode.ElideRight,
                                       label_w)
            painter.drawText(QRectF(4, area.top(), label_w, area.height()),
                             int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                             label)
            bar = QRectF(area.left(), area.top(), max(1.0, q * area.width()), area.height())
            painter.fillRect(bar, BAR_COLOR)
            if self.show_ghost:
                painter.setPen(QPen(GHOST_COLOR, 2, Qt.PenStyle.DashLine))
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRect(QRectF(area.left(), area.top() + 1, p * area.width(),
                                        area.height() - 2))
            text = percent(q)
            painter.setFont(font)
            width = metrics.horizontalAdvance(text) + 12
            outside = max(bar.right(), area.left() + p * area.width() if self.show_ghost else 0)
            if bar.width() >= width:
                painter.setPen(QColor(255, 255, 255))
                target = QRectF(bar.right() - width, bar.top(), width - 6, bar.height())
                align = Qt.AlignmentFlag.AlignRight
            else:
                painter.setPen(TEXT_COLOR)
                target = QRectF(outside + 6, bar.top(), width, bar.height())
                align = Qt.AlignmentFlag.AlignLeft
            painter.drawText(target, int(align | Qt.AlignmentFlag.AlignVCenter), text)

    # -- comparing with a second text B ---------------------------------------------------
    @staticmethod
    def _split(area: QRectF) -> tuple[QRectF, QRectF]:
        """A's bar on top (58%), B's under it."""
        top = QRectF(area.left(), area.top(), area.width(), area.height() * 0.58)
        bottom = QRectF(area.left(), top.bottom() + 1, area.width(),
                        area.height() - top.height() - 1)
        return top, bottom

    def _paint_second(self, painter: QPainter, area: QRectF, qb: float, qa: float) -> None:
        bar = QRectF(area.left(), area.top(), max(1.0, qb * area.width()), area.height())
        painter.fillRect(bar, SECOND_COLOR)
        font = scaled_font(self, 0.95)
        painter.setFont(font)
        painter.setPen(TEXT_COLOR)
        diff = (qa - qb) * 100
        text = f"{self.names[1]} {percent(qb)}   Δ {'+' if diff >= 0 else '−'}{abs(diff):.1f} pts"
        width = QFontMetricsF(font).horizontalAdvance(text) + 12
        left = bar.right() + 6
        if left + width > area.right():  # no room after the bar: inside it, in white
            painter.setPen(QColor(255, 255, 255))
            left = max(area.left() + 4, bar.right() - width)
        painter.drawText(QRectF(left, area.top(), width, area.height()),
                         int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), text)
