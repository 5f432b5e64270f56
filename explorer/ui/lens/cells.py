"""The pieces of the logit lens grid that need no grid: colours, row headers, the loss
bar row and the legend (``explorer.ui.lens.grid.LensGrid`` paints with them; the DLA view
shares the diverging colours)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter

from explorer.analysis import LensResult, TokenLoss
from explorer.ui.widgets.style import TEXT_COLOR, pattern_lut, percent

LOSS_COLOUR = QColor("#dc2626")
LEGEND_WIDTH = 160  # the colour bar of the legend, in pixels


def diverging_rgba(values: np.ndarray, limit: float = 1.0) -> np.ndarray:
    """Values in −limit..limit -> RGBA uint8: blue (negative), white (0), red (positive)."""
    v = np.clip(np.nan_to_num(values / max(limit, 1e-12)), -1.0, 1.0)[..., None]
    white = np.array([255.0, 255.0, 255.0])
    red = np.array([178.0, 24.0, 43.0])
    blue = np.array([33.0, 102.0, 172.0])
    rgb = np.where(v >= 0, white + v * (red - white), white - v * (blue - white))
    alpha = np.full(v.shape, 255.0)
    return np.concatenate([rgb, alpha], axis=-1).round().astype(np.ubyte)


def short_point(label: str) -> str:
    """"layer 2 attention" -> "L2 attn" (the row header)."""
    parts = label.split()
    if len(parts) >= 3 and parts[0] == "layer":
        kind = {"attention": "attn", "cross-attention": "cross", "MLP": "MLP"}.get(parts[2],
                                                                              parts[2])
        return f"L{parts[1]} {kind}"
    return label


def top_list(result: LensResult, row: int, col: int, token: Callable[[int], str],
             k: int = 3) -> str:
    """"tok 41%, tok 12%, …": the top ``k`` tokens of one cell."""
    return ", ".join(f"{token(int(result.top_ids[row, col, i]))} "
                     f"{percent(float(result.top_probs[row, col, i]))}"
                     for i in range(min(k, result.top_ids.shape[2])))


def lens_tip(result: LensResult, row: int, col: int, reads: str,
             token: Callable[[int], str]) -> str:
    """A cell's tooltip: the point and position, the top 5, entropy and the target."""
    lines = [f"{result.points[row].label}, position {col} (reads “{reads}”)", "top 5:"]
    for k in range(min(5, result.top_ids.shape[2])):
        lines.append(f"  {token(int(result.top_ids[row, col, k]))}   "
                     f"{percent(float(result.top_probs[row, col, k]))}")
    lines.append(f"entropy {float(result.entropy[row, col]):.2f} nats")
    target = int(result.targets[col])
    if target >= 0:
        lines.append(f"target “{token(target)}”: {percent(float(result.target_probs[row, col]))}"
                     f", rank {int(result.target_ranks[row, col]) + 1}")
    return "\n".join(lines)


def loss_summary(loss: TokenLoss | None) -> str:
    """The sentence under the loss bars: the objective, mean and total."""
    if loss is None:
        return ""
    what = {"next-token": "−log P(next token)", "seq2seq": "−log P(next token | z)",
            "masked": "−log P(token | the rest), each token masked alone"}[loss.objective]
    return (f"per-token loss {what}: mean {loss.mean:.3f} nats · total {loss.total:.2f} "
            f"nats over {loss.count} tokens")


def legend_text(diff: bool) -> str:
    if diff:
        return ("top-1 probability A − B: −1 … +1 (A's and B's top-1 tokens; A|B where "
                "they differ)")
    return ("top-1 probability 0 … 1 · hover a cell for the top 5 · click a column for "
            "depth · last row = the model's output")


def paint_loss(p: QPainter, font: QFont, loss: TokenLoss, left: int, y0: int, cols: int,
               cell_w: int, width: int) -> None:
    """The bar row of the per-token loss under ``cols`` columns of ``cell_w`` pixels from
    x = ``left``, y = ``y0``, and its summary line (``width`` pixels wide)."""
    fm = QFontMetrics(font)
    p.setFont(font)
    line = fm.height()
    values = loss.per_position.numpy()
    finite = values[np.isfinite(values)]
    top = float(finite.max()) if finite.size else 1.0
    bar_area = QRect(left, y0 + 6, cols * cell_w, 3 * line - 4)
    p.fillRect(bar_area, QColor("#f8fafc"))
    for c in range(min(cols, values.size)):
        v = values[c]
        if not math.isfinite(v):
            continue
        h = int(round((bar_area.height() - line) * v / max(top, 1e-9)))
        rect = QRect(bar_area.left() + c * cell_w + 6, bar_area.bottom() - h, cell_w - 12, h)
        p.fillRect(rect, LOSS_COLOUR)
        p.setPen(TEXT_COLOR)
        p.drawText(QRect(rect.left() - 6, rect.top() - line, cell_w, line),
                   Qt.AlignmentFlag.AlignCenter, f"{v:.1f}")
    p.setPen(TEXT_COLOR)
    p.drawText(QRect(left, bar_area.bottom() + 4, width - left, line + 2),
               Qt.AlignmentFlag.AlignLeft, loss_summary(loss))


def paint_legend(p: QPainter, font: QFont, left: int, y: int, diff: bool) -> None:
    """The colour bar (diverging for A − B, else the pattern colours) and its sentence."""
    fm = QFontMetrics(font)
    p.setFont(font)
    width = LEGEND_WIDTH
    rect = QRect(left, y, width, fm.height())
    steps = 64
    for i in range(steps):
        v = i / (steps - 1)
        rgba = diverging_rgba(np.array([2 * v - 1]))[0] if diff else pattern_lut()[int(v * 255)]
        p.fillRect(QRectF(rect.left() + i * width / steps, rect.top(), width / steps + 1,
                          rect.height()), QColor(*(int(c) for c in rgba)))
    p.setPen(TEXT_COLOR)
    p.drawText(QRect(rect.right() + 10, y, 2000, fm.height()),
               Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, legend_text(diff))


def paint_row_headers(p: QPainter, fonts: tuple[QFont, QFont], first: QRect,
                      labels: list[str], loss_h: int) -> None:
    """The points' names right-aligned left of the rows, and "loss" beside its bars:
    ``first`` is the first row's header (x, top, width of the headers, row height)."""
    x0, top, left, cell_h = first.x(), first.y(), first.width(), first.height()
    rows = len(labels)
    p.fillRect(QRect(x0, 0, left, top + rows * cell_h + loss_h), QColor("white"))
    p.setFont(fonts[0])
    p.setPen(TEXT_COLOR)
    for r, label in enumerate(labels):
        header = QRect(x0, top + r * cell_h, left - 8, cell_h)
        p.drawText(header, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, label)
    if loss_h:
        p.setFont(fonts[1])
        y = top + rows * cell_h + 6  # as paint_loss's bar area
        line = QFontMetrics(fonts[1]).height()
        p.drawText(QRect(x0, y, left - 8, 3 * line - 4),
                   Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, "loss")
