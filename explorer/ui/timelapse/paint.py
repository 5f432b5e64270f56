"""Drawing one time-lapse frame with QPainter: the same code paints the tab and the exported
GIF or PNG frames, so a slide shows exactly what the tab showed.

A frame is the selected view (one head's attention pattern, the output distribution, or
both) above the loss curve with a cursor at the frame's step.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QPainter,
    QPainterPath,
    QPen,
)

from explorer.state.timelapse import Frame

VIEWS = {"attention": "Attention head", "output": "Output distribution",
         "both": "Attention and output"}
INK = QColor("#202020")
GRID = QColor("#d0d0d0")
CURVE = QColor("#1f77b4")
CURSOR = QColor("#d62728")
BAR = QColor("#2ca02c")


def _blues(value: float) -> QColor:
    """White (0) to deep blue (1), as the attention views."""
    v = min(1.0, max(0.0, float(value)))
    return QColor(int(255 - 225 * v), int(255 - 170 * v), int(255 - 75 * v))


def _font(painter: QPainter, size: float, bold: bool = False) -> QFont:
    font = QFont(painter.font())
    font.setPointSizeF(size)
    font.setBold(bold)
    painter.setFont(font)
    return font


def _title(frame: Frame, total: int | None) -> str:
    of = f" / {total:,}" if total else ""
    loss = f" · loss {frame.loss:.3f}" if frame.loss is not None else ""
    ind = f" · induction score {frame.induction:.2f}" if frame.induction is not None else ""
    return f"step {frame.step:,}{of}{loss}{ind}"


def paint_attention(p: QPainter, rect: QRectF, frame: Frame, base: float) -> None:
    n = len(frame.labels)
    _font(p, base, bold=True)
    p.setPen(INK)
    p.drawText(QRectF(rect.left(), rect.top(), rect.width(), base * 2.2),
               Qt.AlignmentFlag.AlignHCenter,
               f"layer {frame.layer + 1} · head {frame.head + 1}: attention weights")
    if n == 0:
        return
    font = _font(p, base * 0.9)
    widest = max(QFontMetricsF(font).horizontalAdvance(t) for t in frame.labels)
    label_w = min(rect.width() * 0.3, widest + base)
    top = rect.top() + base * 2.4 + label_w
    side = min(rect.width() - label_w - base, rect.bottom() - top - base * 1.8)
    if side <= 10:
        return
    cell = side / n
    left = rect.left() + label_w + (rect.width() - label_w - side) / 2
    p.setPen(Qt.PenStyle.NoPen)
    for i in range(n):  # keys down the rows
        for j in range(n):  # queries across the columns
            p.setBrush(_blues(frame.pattern[i, j]))
            p.drawRect(QRectF(left + j * cell, top + i * cell, cell + 0.5, cell + 0.5))
    p.setPen(QPen(GRID, 1))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawRect(QRectF(left, top, side, side))
    size = max(6.0, min(base * 0.9, cell * 0.8))
    _font(p, size)
    p.setPen(INK)
    every = max(1, int(size * 1.25 / cell) + 1)  # every token when the cells are big enough
    for k in range(0, n, every):
        text = frame.labels[k]
        p.drawText(QRectF(left - label_w, top + k * cell, label_w - 4, cell),
                   Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, text)
        p.save()  # the column labels stand upright above their column
        p.translate(left + (k + 0.5) * cell, top - 4)
        p.rotate(-90)
        p.drawText(QRectF(0, -cell / 2, label_w - 4, cell),
                   Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)
        p.restore()
    _font(p, base * 0.8)
    p.drawText(QRectF(rect.left(), top + side + 2, rect.width(), base * 1.8),
               Qt.AlignmentFlag.AlignHCenter,
               "each column: where query t looks (keys t′ down the rows)")


def paint_output(p: QPainter, rect: QRectF, frame: Frame, base: float) -> None:
    _font(p, base, bold=True)
    p.setPen(INK)
    last = frame.labels[-1] if frame.labels else ""
    p.drawText(QRectF(rect.left(), rect.top(), rect.width(), base * 2.2),
               Qt.AlignmentFlag.AlignHCenter, f"next token after “{last}”")
    if not frame.top:
        return
    top = rect.top() + base * 2.6
    row = min(base * 2.4, (rect.bottom() - top) / len(frame.top))
    label_w = base * 4
    width = rect.width() - label_w - base * 5
    _font(p, min(base, row * 0.6))
    for k, (token, prob) in enumerate(frame.top):
        y = top + k * row
        p.setPen(INK)
        p.drawText(QRectF(rect.left(), y, label_w - 6, row),
                   Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, token)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(BAR)
        p.drawRect(QRectF(rect.left() + label_w, y + row * 0.15, width * prob, row * 0.7))
        p.setPen(INK)
        p.drawText(QRectF(rect.left() + label_w + width * prob + 4, y, base * 5, row),
                   Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, f"{prob:.0%}")


def paint_curve(p: QPainter, rect: QRectF, steps: Sequence[int], losses: Sequence[float],
                cursor: int | None, base: float) -> None:
    """The loss curve with a vertical cursor at ``cursor`` (a step)."""
    p.setPen(QPen(GRID, 1))
    p.setBrush(Qt.BrushStyle.NoBrush)
    label_w = base * 3.5
    plot = QRectF(rect.left() + label_w, rect.top() + base * 0.5,
                  rect.width() - label_w - base, rect.height() - base * 2.6)
    p.drawRect(plot)
    _font(p, base * 0.85)
    p.setPen(INK)
    if not steps:
        p.drawText(plot, Qt.AlignmentFlag.AlignCenter, "no loss logged yet (metrics.jsonl)")
        return
    lo, hi = min(losses), max(losses)
    hi = hi if hi > lo else lo + 1.0
    s0, s1 = min(steps[0], cursor if cursor is not None else steps[0]), max(steps[-1], 1)
    span = max(1, s1 - s0)

    def point(s: float, v: float) -> QPointF:
        return QPointF(plot.left() + (s - s0) / span * plot.width(),
                       plot.bottom() - (v - lo) / (hi - lo) * plot.height())

    path = QPainterPath(point(steps[0], losses[0]))
    stride = max(1, len(steps) // 2000)
    for s, v in zip(steps[::stride], losses[::stride]):
        path.lineTo(point(s, v))
    path.lineTo(point(steps[-1], losses[-1]))
    p.setPen(QPen(CURVE, max(1.5, base * 0.15)))
    p.drawPath(path)
    p.setPen(INK)
    for value, align in ((hi, Qt.AlignmentFlag.AlignTop), (lo, Qt.AlignmentFlag.AlignBottom)):
        p.drawText(QRectF(rect.left(), plot.top() - 2, label_w - 6, plot.height() + 4),
                   Qt.AlignmentFlag.AlignRight | align, f"{value:.2f}")
    p.drawText(QRectF(plot.left(), plot.bottom() + 2, plot.width(), base * 1.8),
               Qt.AlignmentFlag.AlignLeft, f"{s0:,}")
    p.drawText(QRectF(plot.left(), plot.bottom() + 2, plot.width(), base * 1.8),
               Qt.AlignmentFlag.AlignRight, f"step {s1:,}")
    p.drawText(QRectF(plot.left(), plot.bottom() + 2, plot.width(), base * 1.8),
               Qt.AlignmentFlag.AlignHCenter, "training loss")
    if cursor is not None:
        x = point(cursor, lo).x()
        p.setPen(QPen(CURSOR, max(2.0, base * 0.2)))
        p.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()))


def paint_frame(p: QPainter, rect: QRectF, frame: Frame | None, view: str,
                steps: Sequence[int], losses: Sequence[float], total: int | None = None,
                message: str = "") -> None:
    """The whole frame into ``rect`` on a white background."""
    p.save()
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.fillRect(rect, QColor("white"))
    base = max(9.0, min(rect.width() / 48, rect.height() / 34))  # narrow: beside curves
    curve_h = rect.height() * 0.24
    if frame is not None:
        _font(p, base * 1.2, bold=True)
        p.setPen(INK)
        p.drawText(QRectF(rect.left(), rect.top() + base * 0.4, rect.width(), base * 2.4),
                   Qt.AlignmentFlag.AlignHCenter, _title(frame, total))
        body = QRectF(rect.left() + base, rect.top() + base * 3, rect.width() - 2 * base,
                      rect.height() - curve_h - base * 3.5)
        if view == "both":
            half = body.width() * 0.56
            paint_attention(p, QRectF(body.left(), body.top(), half, body.height()), frame, base)
            paint_output(p, QRectF(body.left() + half + base, body.top(),
                                   body.width() - half - base, body.height()), frame, base)
        elif view == "output":
            paint_output(p, body, frame, base)
        else:
            paint_attention(p, body, frame, base)
    if message:
        _font(p, base)
        p.setPen(INK)
        p.drawText(QRectF(rect.left() + base, rect.top() + base, rect.width() - 2 * base,
                          rect.height() - curve_h - base * 2),
                   Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, message)
    paint_curve(p, QRectF(rect.left() + base, rect.bottom() - curve_h, rect.width() - 2 * base,
                          curve_h - base * 0.3), steps, losses,
                frame.step if frame is not None else None, base)
    p.restore()


def frame_image(frame: Frame | None, view: str, steps: Sequence[int],
                losses: Sequence[float], total: int | None = None, width: int = 1280,
                height: int = 720, message: str = "") -> QImage:
    """One frame as an image (for export: 1280 × 720 by default, a slide's size)."""
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    try:
        paint_frame(painter, QRectF(0, 0, width, height), frame, view, steps, losses, total,
                    message)
    finally:
        painter.end()
    return image
