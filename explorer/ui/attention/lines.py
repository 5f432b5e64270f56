"""BertViz-style token-to-token lines: where each query token attends, one colour per head.

Public API: ``AttentionLinesWidget(parent=None)`` (a QWidget: a title, a head selector and the
``canvas``).

- ``set_attention(weights, masked, query_labels, key_labels, title)``: ``weights`` float
  (H, l_z, l_x) in the paper's orientation (keys t_z, queries t_x; each column sums to 1),
  ``masked`` bool of the same shape or None. Queries are the left column ("query t_x (attends
  from)"), keys the right column ("key t_z (attended to)"); a line's opacity and width are the
  weight, its colour the head's.
- ``set_head(head: int | None)``: one head (0-based) or ``None`` for all heads; ``head`` is the
  current choice. The combo box ``head_box`` does the same; signal
  ``head_changed(int)`` (-1 = all heads) when the user picks one.
- ``set_highlight(side, index)`` / ``clear_highlight()``; ``highlighted`` -> ("query" | "key",
  index) or None. Hovering a token does this: its own lines stay, every other line dims, the
  tokens at the other end are shaded by their weight (with the value written beside them for
  one head), and tokens the mask forbids are hatched.
- Signal ``token_hovered(str side, int index)`` ("" and -1 when the mouse leaves the tokens).
- ``canvas.token_rect(side, index) -> QRectF`` (canvas coordinates; for tests);
  ``canvas.focus_weights()`` -> (other side, weights of the highlighted token's lines (mean
  over the shown heads), masked) or None: what the shading of the other column shows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from explorer.ui.widgets.style import (
    HEAD_COLORS,
    MASK_LIGHT,
    MUTED_COLOR,
    SELECTION_COLOR,
    TEXT_COLOR,
    hatch_brush,
    scaled_font,
    visible_token,
)

MIN_WEIGHT = 0.01  # lines below this weight are not drawn
MAX_LINES = 300  # at most this many lines in view, the strongest (a long text has ~10⁵)
SMOOTH_LINES = 80  # up to this many lines in all, antialiased
MAX_ROW = 56.0
MIN_ROW = 17.0  # below this the canvas grows taller and scrolls, so labels stay readable


def head_color(head: int) -> QColor:
    return QColor(HEAD_COLORS[head % len(HEAD_COLORS)])


class LinesCanvas(QWidget):
    """The painted part: two columns of tokens and the lines between them."""

    token_hovered = Signal(str, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.weights = np.zeros((0, 0, 0), dtype=np.float32)
        self.masked = np.zeros((0, 0, 0), dtype=bool)
        self.query_labels: list[str] = []
        self.key_labels: list[str] = []
        self.head: int | None = None
        self.highlighted: tuple[str, int] | None = None
        self._labels_version = 0  # bumped when the labels or the font change
        self._widths: tuple[tuple, tuple[float, float, float]] = ((), (0.0, 0.0, 0.0))
        self.setMouseTracking(True)
        self.setMinimumSize(200, 200)

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.FontChange:
            self._labels_version += 1
        super().changeEvent(event)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(520, 560)

    def set_data(self, weights: np.ndarray, masked: np.ndarray, query_labels: list[str],
                 key_labels: list[str]) -> None:
        self.weights, self.masked = weights, masked
        self.query_labels, self.key_labels = query_labels, key_labels
        self._labels_version += 1
        rows = max(len(query_labels), len(key_labels), 1)
        self.setMinimumHeight(int(self._header_height() + 8 + rows * MIN_ROW))
        n = {"query": len(query_labels), "key": len(key_labels)}
        if self.highlighted is not None and self.highlighted[1] >= n[self.highlighted[0]]:
            self.highlighted = None
        self.update()

    # geometry -----------------------------------------------------------------------------
    def _header_height(self) -> float:
        return self._geometry()[2]

    def _geometry(self) -> tuple[float, float, float]:
        """(row height, column width, header height), asked for by every token box and
        line drawn: measured once per size, labels and font."""
        key = (self.width(), self.height(), self._labels_version)
        if self._widths[0] != key:
            header = QFontMetricsF(scaled_font(self, 1.05, bold=True)).height() * 1.6
            n = max(len(self.query_labels), len(self.key_labels), 1)
            row = min(MAX_ROW, (self.height() - header - 8) / n)
            metrics = QFontMetricsF(self._token_font(row))
            labels = [visible_token(s) for s in self.query_labels + self.key_labels] or [""]
            widest = max(metrics.horizontalAdvance(s) for s in labels) + 20
            width = float(min(max(widest, 60.0), self.width() * 0.34))
            self._widths = (key, (row, width, header))
        return self._widths[1]

    def _row_height(self) -> float:
        return self._geometry()[0]

    def _token_font(self, row: float | None = None) -> QFont:
        font = scaled_font(self, 1.15)
        row = self._row_height() if row is None else row
        metrics = QFontMetricsF(font)
        if metrics.height() > row * 0.92:
            font.setPointSizeF(max(6.0, font.pointSizeF() * row * 0.92 / metrics.height()))
        return font

    def _column_width(self) -> float:
        return self._geometry()[1]

    def token_rect(self, side: str, index: int) -> QRectF:
        """The box of token ``index`` in the ``"query"`` (left) or ``"key"`` (right) column."""
        row = self._row_height()
        width = self._column_width()
        x = 8.0 if side == "query" else self.width() - 8.0 - width
        y = self._header_height() + index * row
        return QRectF(x, y + 1, width, row - 2)

    def _hit(self, point: QPointF) -> tuple[str, int] | None:
        for side, labels in (("query", self.query_labels), ("key", self.key_labels)):
            for i in range(len(labels)):
                if self.token_rect(side, i).contains(point):
                    return side, i
        return None

    # painting -----------------------------------------------------------------------------
    def _heads(self) -> list[int]:
        return list(range(self.weights.shape[0])) if self.head is None else [self.head]

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.fillRect(self.rect(), QColor(255, 255, 255))
        if not self.query_labels:
            painter.setPen(MUTED_COLOR)
            painter.setFont(scaled_font(self, 1.1))
            painter.drawText(self.rect(), int(Qt.AlignmentFlag.AlignCenter),
                             "No attention to show yet.")
            return
        exposed = QRectF(event.rect())
        self._paint_headers(painter)
        self._paint_lines(painter, exposed)
        self._paint_tokens(painter, exposed)

    def _paint_headers(self, painter: QPainter) -> None:
        painter.setFont(scaled_font(self, 1.05, bold=True))
        painter.setPen(TEXT_COLOR)
        h = self._header_height()
        half = self.width() / 2 - 12
        metrics = QFontMetricsF(painter.font())
        for text, x, align in (("query t_x (attends from)", 8.0, Qt.AlignmentFlag.AlignLeft),
                               ("key t_z (attended to)", self.width() / 2 + 4,
                                Qt.AlignmentFlag.AlignRight)):
            if metrics.horizontalAdvance(text) > half:
                text = text.split(" (")[0]  # a narrow view keeps the symbols
            painter.drawText(QRectF(x, 0, half, h),
                             int(align | Qt.AlignmentFlag.AlignVCenter), text)

    def _paint_lines(self, painter: QPainter, exposed: QRectF | None = None) -> None:
        """The lines of weight ≥ ``MIN_WEIGHT`` that cross ``exposed`` (the part being
        repainted; a long text's canvas is taller than its scroll area), the strongest
        ``MAX_LINES`` of them, weakest first so the strong ones stay on top."""
        focus = self.highlighted
        heads = self._heads()
        row, width, top = self._row_height(), self._column_width(), self._header_height()
        x_query, x_key = 8.0 + width + 2, self.width() - 8.0 - width - 2
        low = exposed.top() if exposed is not None else -np.inf
        high = exposed.bottom() if exposed is not None else np.inf
        chosen = []
        for head in heads:
            w = self.weights[head]  # (l_z, l_x)
            keys, queries = np.nonzero(w >= MIN_WEIGHT)
            y_key, y_query = top + (keys + 0.5) * row, top + (queries + 0.5) * row
            seen = (np.maximum(y_key, y_query) >= low) & (np.minimum(y_key, y_query) <= high)
            keys, queries = keys[seen], queries[seen]
            values = w[keys, queries]
            most = max(1, MAX_LINES // len(heads))
            if len(values) > most:
                strongest = np.argpartition(values, -most)[-most:]
                keys, queries, values = keys[strongest], queries[strongest], values[strongest]
            chosen.append((head, keys, queries, values))
        # smooth edges for a few lines; many are drawn 10x faster without
        painter.setRenderHint(QPainter.RenderHint.Antialiasing,
                              sum(len(c[3]) for c in chosen) <= SMOOTH_LINES)
        for head, keys, queries, values in chosen:
            color = head_color(head)
            for i in np.argsort(values, kind="stable"):
                k, q, value = int(keys[i]), int(queries[i]), float(values[i])
                lit = focus is None or focus == ("query", q) or focus == ("key", k)
                alpha = value * (0.85 if lit else 0.08)
                if focus is not None and lit:
                    alpha = 0.25 + 0.75 * value
                c = QColor(color)
                c.setAlphaF(min(1.0, alpha))
                painter.setPen(QPen(c, 1.0 + 6.0 * value, Qt.PenStyle.SolidLine,
                                    Qt.PenCapStyle.RoundCap))
                painter.drawLine(QPointF(x_query, top + (q + 0.5) * row),
                                 QPointF(x_key, top + (k + 0.5) * row))

    def focus_weights(self) -> tuple[str, np.ndarray, np.ndarray] | None:
        """For a highlighted token: the other column, its weights (mean over heads), mask."""
        if self.highlighted is None:
            return None
        side, i = self.highlighted
        heads = self._heads()
        if side == "query":
            weight = self.weights[heads][:, :, i]  # (h, l_z)
            masked = self.masked[heads][:, :, i].all(axis=0)
            return "key", weight.mean(axis=0), masked
        weight = self.weights[heads][:, i, :]  # (h, l_x)
        masked = self.masked[heads][:, i, :].all(axis=0)
        return "query", weight.mean(axis=0), masked

    def _paint_tokens(self, painter: QPainter, exposed: QRectF | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setFont(self._token_font())
        other = self.focus_weights()
        tint = head_color(self.head) if self.head is not None else QColor(60, 60, 60)
        for side, labels in (("query", self.query_labels), ("key", self.key_labels)):
            align = (Qt.AlignmentFlag.AlignRight if side == "query"
                     else Qt.AlignmentFlag.AlignLeft) | Qt.AlignmentFlag.AlignVCenter
            for i, label in enumerate(labels):
                rect = self.token_rect(side, i)
                if exposed is not None and not rect.intersects(exposed):
                    continue  # a long text's canvas scrolls: only the rows in view
                painter.setPen(Qt.PenStyle.NoPen)
                value = None
                if other is not None and other[0] == side:
                    if other[2][i]:
                        painter.fillRect(rect, QColor(*MASK_LIGHT))
                        painter.fillRect(rect, hatch_brush())
                    else:
                        value = float(other[1][i])
                        fill = QColor(tint)
                        fill.setAlphaF(min(1.0, 0.1 + 0.8 * value))
                        painter.setBrush(fill)
                        painter.drawRoundedRect(rect, 4, 4)
                if self.highlighted == (side, i):
                    painter.setBrush(Qt.BrushStyle.NoBrush)
                    painter.setPen(QPen(SELECTION_COLOR, 3))
                    painter.drawRoundedRect(rect, 4, 4)
                dark_fill = value is not None and value > 0.55
                painter.setPen(QColor(255, 255, 255) if dark_fill else TEXT_COLOR)
                painter.drawText(rect.adjusted(8, 0, -8, 0), int(align), visible_token(label))
                if value is not None and self.head is not None:
                    self._paint_value(painter, rect, side, value)

    def _paint_value(self, painter: QPainter, rect: QRectF, side: str, value: float) -> None:
        painter.setPen(MUTED_COLOR)
        width = QFontMetricsF(painter.font()).horizontalAdvance("0.000") + 8
        if side == "key":
            box = QRectF(rect.left() - width - 4, rect.top(), width, rect.height())
            align = Qt.AlignmentFlag.AlignRight
        else:
            box = QRectF(rect.right() + 4, rect.top(), width, rect.height())
            align = Qt.AlignmentFlag.AlignLeft
        painter.fillRect(box, QColor(255, 255, 255, 220))
        painter.drawText(box, int(align | Qt.AlignmentFlag.AlignVCenter), f"{value:.3f}")

    # interaction --------------------------------------------------------------------------
    def set_highlight(self, side: str | None, index: int = -1) -> None:
        new = None if side is None or index < 0 else (side, index)
        if new != self.highlighted:
            self.highlighted = new
            self.update()
            self.token_hovered.emit(*(new if new is not None else ("", -1)))

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        hit = self._hit(event.position())
        self.set_highlight(*(hit if hit is not None else (None, -1)))
        super().mouseMoveEvent(event)

    def leaveEvent(self, event) -> None:  # noqa: N802
        self.set_highlight(None)
        super().leaveEvent(event)


class AttentionLinesWidget(QWidget):
    """Algorithm 4 as lines: query token t_x attends to key token t_z with weight A[t_z, t_x]."""

    head_changed = Signal(int)
    token_hovered = Signal(str, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title_label = QLabel("Token-to-token attention")
        self.title_label.setFont(scaled_font(self, 1.35, bold=True))
        self.title_label.setWordWrap(True)
        self.head_box = QComboBox()
        self.head_box.setFont(scaled_font(self, 1.05))
        self.head_box.setToolTip("Show the lines of one head, or of all heads in their colours")
        self.head_box.addItem("all heads")
        self.head_box.currentIndexChanged.connect(self._on_head_box_changed)
        self.hint_label = QLabel("Hover a token: its lines stay, the others fade.")
        self.hint_label.setFont(scaled_font(self, 1.0))
        self.hint_label.setStyleSheet("color: #555")
        self.hint_label.setWordWrap(True)
        self.hint_label.setMinimumWidth(60)
        self.canvas = LinesCanvas()
        self.canvas.token_hovered.connect(self.token_hovered)

        top = QHBoxLayout()
        top.addWidget(QLabel("Heads:"))
        top.addWidget(self.head_box)
        top.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.title_label)
        layout.addLayout(top)
        scroll = QScrollArea()  # a long text: rows keep MIN_ROW and the canvas scrolls
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.canvas)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.hint_label)

    @property
    def head(self) -> int | None:
        return self.canvas.head

    @property
    def highlighted(self) -> tuple[str, int] | None:
        return self.canvas.highlighted

    def set_highlight(self, side: str, index: int) -> None:
        self.canvas.set_highlight(side, index)

    def clear_highlight(self) -> None:
        self.canvas.set_highlight(None)

    def set_attention(self, weights: np.ndarray, masked: np.ndarray | None,
                      query_labels: Sequence[str], key_labels: Sequence[str],
                      title: str) -> None:
        weights = np.asarray(weights, dtype=np.float32)
        if weights.ndim != 3:
            raise ValueError(f"expected (H, l_z, l_x) weights, got shape {weights.shape}")
        n_heads, lz, lx = weights.shape
        if len(query_labels) != lx or len(key_labels) != lz:
            raise ValueError(f"{len(query_labels)} query / {len(key_labels)} key labels for "
                             f"weights of {lz} keys × {lx} queries")
        masked = (np.zeros(weights.shape, bool) if masked is None
                  else np.asarray(masked, dtype=bool).reshape(weights.shape))
        self.title_label.setText(title)
        if self.head_box.count() != n_heads + 1:
            self.head_box.blockSignals(True)
            self.head_box.clear()
            self.head_box.addItem("all heads")
            for h in range(n_heads):
                self.head_box.addItem(f"head {h + 1}")
                self.head_box.setItemData(h + 1, head_color(h), Qt.ItemDataRole.ForegroundRole)
            self.head_box.blockSignals(False)
            if self.canvas.head is not None and self.canvas.head >= n_heads:
                self.canvas.head = None
            self.head_box.setCurrentIndex(0 if self.canvas.head is None else self.canvas.head + 1)
        self.canvas.set_data(weights, masked, list(query_labels), list(key_labels))

    def set_head(self, head: int | None) -> None:
        """Show one head (0-based) or all heads (None), without emitting ``head_changed``."""
        if head is not None and not 0 <= head < self.canvas.weights.shape[0]:
            head = None
        self.canvas.head = head
        self.head_box.blockSignals(True)
        self.head_box.setCurrentIndex(0 if head is None else head + 1)
        self.head_box.blockSignals(False)
        self.canvas.update()

    def _on_head_box_changed(self, index: int) -> None:
        self.canvas.head = None if index <= 0 else index - 1
        self.canvas.update()
        self.head_changed.emit(-1 if index <= 0 else index - 1)
