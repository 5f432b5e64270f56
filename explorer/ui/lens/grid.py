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

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from explorer.analysis import Comparison, LensResult, TokenLoss, compare_lens
from explorer.ui.lens.cells import (
    LEGEND_WIDTH,
    diverging_rgba,
    legend_text,
    lens_tip,
    loss_summary,
    paint_legend,
    paint_loss,
    paint_row_headers,
    short_point,
    top_list,
)
from explorer.ui.widgets.export_parts import Caption, Table, ViewParts, tokens_line
from explorer.ui.widgets.style import (
    MUTED_COLOR,
    SELECTION_COLOR,
    TEXT_COLOR,
    pattern_lut,
    scaled_font,
    text_color_on,
    visible_token,
)

MODES = ("A", "B", "A − B")
PENDING_RGBA = np.array([243, 244, 246, 255], dtype=np.uint8)  # a cell not computed yet


def comparable(a: LensResult, b: LensResult) -> bool:
    """Whether two lens grids have the same points (rows): the same model."""
    return [p.name for p in a.points] == [p.name for p in b.points]


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
        if self._lens_b is not None and not comparable(lens, self._lens_b):
            self._lens_b, self._labels_b = None, []  # B of another model: dropped
        self._compare()
        self._layout()
        self.update()

    def set_compare(self, lens_b: LensResult | None, labels_b: Sequence[str] = ()) -> None:
        """Compare the lens shown (A) with ``lens_b`` (B, the same model); None: A alone.
        A B of other points than A (another model) is refused: A alone."""
        if lens_b is not None and self._lens is not None and not comparable(self._lens, lens_b):
            lens_b = None
        self._lens_b = lens_b
        self._labels_b = [visible_token(s) for s in labels_b]
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
        legend = small.horizontalAdvance(legend_text(self._diff())) + LEGEND_WIDTH + 10
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
        diff = self._diff()
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
        missing = np.isnan(self._values)  # columns still being computed: blank
        if missing.any():
            self._rgba = self._rgba.copy()
            self._rgba[missing] = PENDING_RGBA[:self._rgba.shape[-1]]
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
        if self._diff():
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
        if self._diff():
            return float(self.comparison.diff[row, col])
        result = self._result()
        return float(result.top_probs[row, col, 0])

    def cell_text(self, row: int, col: int) -> str:
        """The top-1 token ("" where the column is still being computed)."""
        if self._diff():
            a = int(self._lens.top_ids[row, col, 0])
            b = int(self._lens_b.top_ids[row, col, 0])
            if a < 0 or b < 0:
                return ""
            return self._token(a) if a == b else f"{self._token(a)}|{self._token(b)}"
        top = int(self._result().top_ids[row, col, 0])
        return self._token(top) if top >= 0 else ""

    def cell_tip(self, row: int, col: int) -> str:
        if not self.cell_text(row, col):
            return "still being computed"
        if self._diff():
            return (f"{self._lens.points[row].label}, position {col}\n"
                    f"A: {top_list(self._lens, row, col, self._token)}\n"
                    f"B: {top_list(self._lens_b, row, col, self._token)}\n"
                    f"top-1 probability A − B = {self.cell_value(row, col):+.3f}")
        labels = self._labels_b if self.mode == "B" else self._labels
        return lens_tip(self._result(), row, col, labels[col], self._token)

    def _compare(self) -> None:
        if self._lens is None or self._lens_b is None:
            self.comparison = None
            self.mode = "A"
            return
        self.comparison = compare_lens(self._lens, self._lens_b, "top_prob")

    # -- painting ------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("white"))
        rows, cols = self._shown()
        if rows:  # never past what _layout cached (a change it has not seen yet)
            rows, cols = min(rows, self._values.shape[0]), min(cols, self._values.shape[1])
        if not rows:
            p.setFont(self._font)
            p.setPen(MUTED_COLOR)
            p.drawText(self.rect().adjusted(12, 12, -12, -12),
                       Qt.TextFlag.TextWordWrap | Qt.AlignmentFlag.AlignLeft, self._message)
            p.end()
            return
        diff = self._diff()
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
            paint_loss(p, self._small, self._loss, self._left, bottom, cols, self._cell_w,
                       self._size.width())
            bottom += self._loss_h
        paint_legend(p, self._small, self._left, bottom + 6, diff)
        self._paint_row_headers(p, rows)
        p.end()

    def _frozen_left(self) -> int:
        """Where the row headers stand: the left edge of the part in view (they stay put
        while the grid scrolls along the text)."""
        return max(0, self.visibleRegion().boundingRect().left())

    def _paint_row_headers(self, p: QPainter, rows: int) -> None:
        labels = [short_point(self._lens.points[r].label) for r in range(rows)]
        paint_row_headers(p, (self._font, self._small), QRect(
            self._frozen_left(), self._top, self._left, self._cell_h), labels, self._loss_h)

    def loss_summary(self) -> str:
        return loss_summary(self._loss)

    def _diff(self) -> bool:
        return self.mode == "A − B" and self.comparison is not None

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
