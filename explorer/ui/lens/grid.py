"""The logit lens grid: residual points (rows, embedding at the top, the output at the
bottom) × positions (columns), each cell the top-1 token the readout gives there, coloured
by its probability; a bar row of the per-token loss under it.

Public API (``LensGrid``, a painted QWidget):

- ``set_lens(lens, position_labels, vocab)``: a ``explorer.analysis.LensResult``, the
  input token at each position and each token id's label; ``clear(message)``.
- ``set_compare(lens_b, labels_b)`` (None leaves compare mode) and ``set_mode(mode)``
  ("A", "B" or "A − B"): two inputs on one colour scale, aligned on their common prefix
  (``explorer.analysis.compare_lens``); ``comparison`` -> the ``Comparison`` shown, or None;
  ``note`` the sentence about the alignment.
- ``set_loss(loss)`` (``TokenLoss`` or None): the bar row with its mean and total.
- ``set_column(t)``, ``column`` (-1: none) and signal ``column_clicked(int)``;
  ``set_highlight(token)``: frame the cells whose top-1 is ``token`` (None: none).
- ``cell_rect(row, col)``, ``cell_text(row, col)``, ``cell_tip(row, col)``,
  ``cell_value(row, col)`` (for tests and export); ``export_parts()``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from explorer.analysis import Comparison, LensResult, TokenLoss, compare_lens
from explorer.ui.widgets.export_parts import Caption, Table, ViewParts, tokens_line
from explorer.ui.widgets.style import (
    MUTED_COLOR,
    SELECTION_COLOR,
    TEXT_COLOR,
    pattern_lut,
    percent,
    scaled_font,
    text_color_on,
    visible_token,
)

MODES = ("A", "B", "A − B")
LOSS_COLOUR = QColor("#dc2626")


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


class LensGrid(QWidget):
    """Points × positions, the top-1 token in each cell (see the module docstring)."""

    column_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Minimum)
        self._lens: LensResult | None = None
        self._lens_b: LensResult | None = None
        self._labels: list[str] = []
        self._labels_b: list[str] = []
        self._vocab: Sequence[str] = ()
        self._loss: TokenLoss | None = None
        self._message = "Type some text to see what each layer would predict."
        self.comparison: Comparison | None = None
        self.mode = "A"
        self.column = -1
        self._highlight: int | None = None
        self._layout()

    # -- public API ----------------------------------------------------------------------
    def set_lens(self, lens: LensResult, position_labels: Sequence[str],
                 vocab: Sequence[str]) -> None:
        self._lens = lens
        self._labels = [visible_token(s) for s in position_labels]
        self._vocab = vocab
        self._message = ""
        if self.column >= lens.ids.numel():
            self.column = -1
        self._compare()
        self._layout()
        self.update()

    def set_compare(self, lens_b: LensResult | None, labels_b: Sequence[str] = ()) -> None:
        """Compare the lens shown (A) with ``lens_b`` (B, the same model); None: A alone."""
        self._lens_b = lens_b
        self._labels_b = [visible_token(s) for s in labels_b]
        if lens_b is None:
            self.mode = "A"
        self._compare()
        self._layout()
        self.update()

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        self.mode = mode if self._lens_b is not None else "A"
        self._layout()
        self.update()

    @property
    def note(self) -> str:
        if self.comparison is None:
            return ""
        return self.comparison.note or "A and B have the same length"

    def set_loss(self, loss: TokenLoss | None) -> None:
        self._loss = loss
        self._layout()
        self.update()

    def clear(self, message: str) -> None:
        self._lens = None
        self._lens_b = None
        self.comparison = None
        self._message = message
        self._layout()
        self.update()

    @property
    def message(self) -> str:
        return self._message

    @property
    def lens(self) -> LensResult | None:
        return self._lens

    def set_column(self, column: int) -> None:
        self.column = int(column)
        self.update()

    def set_highlight(self, token: int | None) -> None:
        self._highlight = token
        self.update()

    def highlighted_cells(self) -> list[tuple[int, int]]:
        """(row, column) of the cells framed: those whose top-1 is the highlighted token."""
        result = self._result()
        if result is None or self._highlight is None or self.mode == "A − B":
            return []
        rows, cols = self._shown()
        top = result.top_ids[:rows, :cols, 0]
        return [tuple(rc) for rc in (top == self._highlight).nonzero().tolist()]

    # -- geometry ------------------------------------------------------------------------
    def _shown(self) -> tuple[int, int]:
        """(rows, columns) drawn."""
        if self._lens is None:
            return 0, 0
        rows = len(self._lens.points)
        if self.mode == "A" or self.comparison is None:
            return rows, self._lens.ids.numel()
        if self.mode == "B":
            return rows, self._lens_b.ids.numel()
        return rows, int(self.comparison.diff.shape[1])

    def _layout(self) -> None:
        self._font = scaled_font(self, 1.0)
        self._small = scaled_font(self, 0.9)
        self._bold = scaled_font(self, 1.0, bold=True)
        fm = QFontMetrics(self._font)
        rows, cols = self._shown()
        labels = [short_point(p.label) for p in self._lens.points] if self._lens else []
        self._left = max([fm.horizontalAdvance(s) for s in labels] + [60]) + 16
        self._cell_h = fm.height() + 10
        widest = max([fm.horizontalAdvance(s) for s in self._column_labels()] + [0])
        self._cell_w = max(46, min(110, widest + 14))
        self._top = fm.height() + 10
        self._loss_h = 4 * fm.height() + 10 if self._loss is not None and self.mode == "A" else 0
        self._legend_h = fm.height() + 16 if rows else 0
        small = QFontMetrics(self._small)
        legend = small.horizontalAdvance(self._legend_text()) + 160 + 10
        summary = small.horizontalAdvance(self.loss_summary()) if self._loss_h else 0
        width = self._left + max(cols * self._cell_w, legend, summary) + 16
        height = self._top + rows * self._cell_h + self._loss_h + self._legend_h + 12
        if not rows:
            width, height = 400, 120
        self._size = QSize(width, height)
        self._cache_cells(rows, cols, fm)
        self.setMinimumSize(self._size)
        self.updateGeometry()

    def _cache_cells(self, rows: int, cols: int, fm: QFontMetrics) -> None:
        """What paint draws, computed once per change (not per paint): values, colours,
        each cell's elided top-1 text and (A or B) its top-1 id."""
        if not rows:
            self._values = np.zeros((0, 0))
            return
        diff = self.mode == "A − B" and self.comparison is not None
        if diff:
            self._values = self.comparison.diff[:rows, :cols].double().numpy()
            self._tops = None
            self._rgba = diverging_rgba(self._values)
        else:
            result = self._result()
            self._values = result.top_probs[:rows, :cols, 0].double().numpy()
            self._tops = result.top_ids[:rows, :cols, 0].numpy()
            self._rgba = pattern_lut()[
                np.clip(np.nan_to_num(self._values) * 255 + 0.5, 0, 255).astype(np.intp)]
        width = self._cell_w - 4
        elide = Qt.TextElideMode.ElideRight
        self._texts = [[fm.elidedText(self.cell_text(r, c), elide, width) for c in range(cols)]
                       for r in range(rows)]

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:  # zoom, presentation mode
            self._layout()
            self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return self._size

    def _column_labels(self) -> list[str]:
        if self._lens is None:
            return []
        if self.mode == "B":
            return self._labels_b
        if self.mode == "A − B" and self.comparison is not None:
            n = int(self.comparison.diff.shape[1])
            return [a if a == b else f"{a}|{b}"
                    for a, b in zip(self._labels[:n], self._labels_b[:n])]
        return self._labels

    def header_width(self) -> int:
        """The width of the row headers (they stay at the left edge of the view)."""
        return self._left

    def cell_rect(self, row: int, col: int) -> QRect:
        return QRect(self._left + col * self._cell_w, self._top + row * self._cell_h,
                     self._cell_w, self._cell_h)

    def _hit(self, pos: QPoint) -> tuple[int, int] | None:
        rows, cols = self._shown()
        col = (pos.x() - self._left) // self._cell_w
        row = (pos.y() - self._top) // self._cell_h
        if pos.x() < self._frozen_left() + self._left or not 0 <= col < cols:
            return None
        return (int(row) if 0 <= row < rows and pos.y() >= self._top else -1), int(col)

    # -- what each cell says ---------------------------------------------------------------
    def _result(self) -> LensResult | None:
        return self._lens_b if self.mode == "B" else self._lens

    def _token(self, token: int) -> str:
        return visible_token(self._vocab[token]) if 0 <= token < len(self._vocab) else f"#{token}"

    def cell_value(self, row: int, col: int) -> float:
        """The number behind the cell's colour: the top-1 probability (A or B), or A − B."""
        if self.mode == "A − B" and self.comparison is not None:
            return float(self.comparison.diff[row, col])
        result = self._result()
        return float(result.top_probs[row, col, 0])

    def cell_text(self, row: int, col: int) -> str:
        if self.mode == "A − B" and self.comparison is not None:
            a = int(self._lens.top_ids[row, col, 0])
            b = int(self._lens_b.top_ids[row, col, 0])
            return self._token(a) if a == b else f"{self._token(a)}|{self._token(b)}"
        return self._token(int(self._result().top_ids[row, col, 0]))

    def cell_tip(self, row: int, col: int) -> str:
        lens = self._lens
        point = lens.points[row].label
        if self.mode == "A − B" and self.comparison is not None:
            return (f"{point}, position {col}\nA: {self._top_list(self._lens, row, col)}\n"
                    f"B: {self._top_list(self._lens_b, row, col)}\n"
                    f"top-1 probability A − B = {self.cell_value(row, col):+.3f}")
        result = self._result()
        labels = self._labels_b if self.mode == "B" else self._labels
        lines = [f"{point}, position {col} (reads “{labels[col]}”)", "top 5:"]
        for k in range(min(5, result.top_ids.shape[2])):
            lines.append(f"  {self._token(int(result.top_ids[row, col, k]))}   "
                         f"{percent(float(result.top_probs[row, col, k]))}")
        lines.append(f"entropy {float(result.entropy[row, col]):.2f} nats")
        target = int(result.targets[col])
        if target >= 0:
            lines.append(f"target “{self._token(target)}”: "
                         f"{percent(float(result.target_probs[row, col]))}, rank "
                         f"{int(result.target_ranks[row, col]) + 1}")
        return "\n".join(lines)

    def _top_list(self, result: LensResult, row: int, col: int) -> str:
        return ", ".join(f"{self._token(int(result.top_ids[row, col, k]))} "
                         f"{percent(float(result.top_probs[row, col, k]))}"
                         for k in range(min(3, result.top_ids.shape[2])))

    def _compare(self) -> None:
        if self._lens is None or self._lens_b is None:
            self.comparison = None
            return
        self.comparison = compare_lens(self._lens, self._lens_b, "top_prob")

    # -- painting ------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("white"))
        rows, cols = self._shown()
        if not rows:
            p.setFont(self._font)
            p.setPen(MUTED_COLOR)
            p.drawText(self.rect().adjusted(12, 12, -12, -12),
                       Qt.TextFlag.TextWordWrap | Qt.AlignmentFlag.AlignLeft, self._message)
            p.end()
            return
        diff = self.mode == "A − B" and self.comparison is not None
        rgba = self._rgba
        fm = QFontMetrics(self._font)
        # column headers: the token each position reads
        p.setFont(self._bold)
        for c, label in enumerate(self._column_labels()[:cols]):
            rect = QRect(self._left + c * self._cell_w, 0, self._cell_w, self._top)
            p.setPen(SELECTION_COLOR.darker(130) if c == self.column else TEXT_COLOR)
            p.drawText(rect, Qt.AlignmentFlag.AlignCenter,
                       fm.elidedText(label, Qt.TextElideMode.ElideRight, self._cell_w - 4))
        p.setFont(self._font)
        for r in range(rows):
            for c in range(cols):
                rect = self.cell_rect(r, c)
                colour = QColor(*(int(v) for v in rgba[r, c]))
                p.fillRect(rect, colour)
                p.setPen(text_color_on(rgba[r, c]))
                p.drawText(rect, Qt.AlignmentFlag.AlignCenter, self._texts[r][c])
                if self._highlight is not None and self._tops is not None \
                        and self._tops[r, c] == self._highlight:
                    p.setPen(QPen(SELECTION_COLOR, 3))
                    p.drawRect(rect.adjusted(2, 2, -2, -2))
        # the last row is the model's output: a line above it
        p.setPen(QPen(TEXT_COLOR, 2))
        y = self._top + (rows - 1) * self._cell_h
        p.drawLine(self._left, y, self._left + cols * self._cell_w, y)
        if 0 <= self.column < cols:
            p.setPen(QPen(SELECTION_COLOR, 3))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(QRect(self._left + self.column * self._cell_w, self._top,
                             self._cell_w, rows * self._cell_h))
        bottom = self._top + rows * self._cell_h
        if self._loss_h:
            self._paint_loss(p, bottom, cols)
            bottom += self._loss_h
        self._paint_legend(p, bottom + 6, diff)
        self._paint_row_headers(p, rows)
        p.end()

    def _frozen_left(self) -> int:
        """Where the row headers stand: the left edge of the part in view (they stay put
        while the grid scrolls along the text)."""
        return max(0, self.visibleRegion().boundingRect().left())

    def _paint_row_headers(self, p: QPainter, rows: int) -> None:
        x0 = self._frozen_left()
        p.fillRect(QRect(x0, 0, self._left, self._top + rows * self._cell_h + self._loss_h),
                   QColor("white"))
        p.setFont(self._font)
        p.setPen(TEXT_COLOR)
        for r in range(rows):
            header = QRect(x0, self._top + r * self._cell_h, self._left - 8, self._cell_h)
            p.drawText(header, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                       short_point(self._lens.points[r].label))
        if self._loss_h:
            p.setFont(self._small)
            y = self._top + rows * self._cell_h + 6  # as _paint_loss's bar area
            line = QFontMetrics(self._small).height()
            p.drawText(QRect(x0, y, self._left - 8, 3 * line - 4),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, "loss")

    def _paint_loss(self, p: QPainter, y0: int, cols: int) -> None:
        loss = self._loss
        fm = QFontMetrics(self._small)
        p.setFont(self._small)
        line = fm.height()
        values = loss.per_position.numpy()
        finite = values[np.isfinite(values)]
        top = float(finite.max()) if finite.size else 1.0
        bar_area = QRect(self._left, y0 + 6, cols * self._cell_w, 3 * line - 4)
        p.fillRect(bar_area, QColor("#f8fafc"))
        for c in range(min(cols, values.size)):
            v = values[c]
            if not math.isfinite(v):
                continue
            h = int(round((bar_area.height() - line) * v / max(top, 1e-9)))
            rect = QRect(bar_area.left() + c * self._cell_w + 6, bar_area.bottom() - h,
                         self._cell_w - 12, h)
            p.fillRect(rect, LOSS_COLOUR)
            p.setPen(TEXT_COLOR)
            p.drawText(QRect(rect.left() - 6, rect.top() - line, self._cell_w, line),
                       Qt.AlignmentFlag.AlignCenter, f"{v:.1f}")
        p.setPen(TEXT_COLOR)
        p.drawText(QRect(self._left, bar_area.bottom() + 4, self._size.width() - self._left,
                         line + 2),
                   Qt.AlignmentFlag.AlignLeft, self.loss_summary())

    def loss_summary(self) -> str:
        loss = self._loss
        if loss is None:
            return ""
        what = {"next-token": "−log P(next token)", "seq2seq": "−log P(next token | z)",
                "masked": "−log P(token | the rest), each token masked alone"}[loss.objective]
        return (f"per-token loss {what}: mean {loss.mean:.3f} nats · total {loss.total:.2f} "
                f"nats over {loss.count} tokens")

    def _legend_text(self) -> str:
        if self.mode == "A − B" and self.comparison is not None:
            return ("top-1 probability A − B: −1 … +1 (A's and B's top-1 tokens; A|B where "
                    "they differ)")
        return ("top-1 probability 0 … 1 · hover a cell for the top 5 · click a column for "
                "depth · last row = the model's output")

    def _paint_legend(self, p: QPainter, y: int, diff: bool) -> None:
        fm = QFontMetrics(self._small)
        p.setFont(self._small)
        width = 160
        rect = QRect(self._left, y, width, fm.height())
        steps = 64
        for i in range(steps):
            v = i / (steps - 1)
            rgba = diverging_rgba(np.array([2 * v - 1]))[0] if diff else pattern_lut()[
                int(v * 255)]
            p.fillRect(QRectF(rect.left() + i * width / steps, rect.top(), width / steps + 1,
                              rect.height()), QColor(*(int(c) for c in rgba)))
        p.setPen(TEXT_COLOR)
        text = self._legend_text()
        p.drawText(QRect(rect.right() + 10, y, 2000, fm.height()),
                   Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)

    # -- mouse -----------------------------------------------------------------------------
    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        hit = self._hit(event.position().toPoint())
        if hit is None or hit[0] < 0 or self._lens is None:
            QToolTip.hideText()
            return
        QToolTip.showText(event.globalPosition().toPoint(), self.cell_tip(*hit), self)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        hit = self._hit(event.position().toPoint())
        if hit is None or self._lens is None or self.mode != "A":
            return
        self.set_column(hit[1])
        self.column_clicked.emit(hit[1])

    # -- export ----------------------------------------------------------------------------
    def export_parts(self) -> ViewParts:
        rows, cols = self._shown()
        if not rows:
            return ViewParts(self, Caption("Logit lens"), None)
        values = self._values.copy()
        title = "Logit lens: the top-1 token at every residual point"
        if self.mode != "A":
            title += f" ({self.mode}; {self.note})"
        return ViewParts(self, Caption(title, "points × ℓ",
                                       "softmax(W_u norm(x)) per point, own statistics",
                                       tokens_line(self._column_labels())),
                         Table(values, [p.label for p in self._lens.points],
                               self._column_labels(), "point", "t"))
