"""One attention head's pattern as a heatmap, in the paper's orientation, mask shown as such.

Public API: ``AttentionPatternWidget(parent=None)`` (a QWidget).

- ``set_pattern(weights, masked, query_labels, key_labels, title, note="")``: ``weights``
  float (l_z, l_x) in 0..1, the paper's S orientation (keys t_z down the rows, queries t_x
  along the columns, each column sums to 1); ``masked`` bool (l_z, l_x) or None (True = the
  score was −∞ before the softmax). The image item is created once; this calls
  ``setImage(..., levels=(0, 1))`` on it. Masked cells are transparent in the image and show
  the light-grey hatched mask layer under it (legend: "masked"); values are written in the
  cells when the sequence is short (``VALUE_TEXT_MAX`` tokens or fewer).
  With ``signed=True`` the values are a difference of two patterns (A − B, in −1..1): a
  diverging colour map centred at 0, levels (−1, 1), signed value texts.
- ``clear(message)``: an empty view with a message.
- ``hover_at(row, col)``: what hovering cell (key row, query column) shows; also the text of
  ``hover_label`` after a real mouse hover.
- ``cell_rgba(row, col) -> tuple[int, int, int, int]``: the colour rendered inside a cell
  (near its top-left corner, clear of the value text), read from a grab of the widget;
  ``cell_center(row, col) -> QPointF`` in widget coordinates (for tests and checks).
- Attributes: ``title_label``, ``note_label``, ``hover_label``, ``plot`` (pg.PlotItem),
  ``image`` (pg.ImageItem), ``weights``, ``masked``, ``query_labels``, ``key_labels``.
- Signal ``cell_hovered(int key_row, int query_col)`` (-1, -1 when the mouse leaves).
- Signal ``cell_context(int key_row, int query_col, QPoint global_pos)`` on a right click
  on a cell (the Attention tab offers to edit that weight).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from explorer.ui.widgets.cells import cell_under
from explorer.ui.widgets.export_parts import Caption, Table, ViewParts, tokens_line
from explorer.ui.widgets.style import (
    MASK_LEGEND,
    MASK_LIGHT,
    hatch_brush,
    paint_mask_swatch,
    pattern_colormap,
    pattern_lut,
    scaled_font,
    text_color_on,
    visible_token,
)
from explorer.ui.widgets.theme import diverging
from explorer.ui.widgets.token_axis import TokenAxis
from explorer.ui.widgets.typeset import set_typeset, typeset

VALUE_TEXT_MAX = 12


def _signed_lut() -> np.ndarray:
    """The diverging map (blue − · white 0 · red +) as a (256, 4) uint8 table."""
    lut = diverging().getLookupTable(0.0, 1.0, nPts=256, alpha=True)
    return np.ascontiguousarray(lut, dtype=np.ubyte)


def _cell_text(value: float, signed: bool = False) -> str:
    """A weight in two digits: ".42", "1.0", "<.01" (never "0", which reads as masked);
    a difference with its sign: "+.42", "−.07", "0"."""
    if signed:
        if abs(value) < 0.005:
            return "0"
        text = f"{abs(value):.2f}".lstrip("0") if abs(value) < 0.995 else "1.0"
        return ("+" if value > 0 else "−") + text
    if value >= 0.995:
        return "1.0"
    if value < 0.005:
        return "<.01"
    return f"{value:.2f}".lstrip("0")


class MaskSwatch(QWidget):
    """A small square in the masked cells' look, for the legend."""

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(26, 22)

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        paint_mask_swatch(painter, QRectF(2, 2, self.width() - 4, self.height() - 4))


class AttentionPatternWidget(QWidget):
    """Algorithm 4, line 6: one head's attention pattern A = softmax(S / √d_attn)."""

    cell_hovered = Signal(int, int)
    cell_context = Signal(int, int, QPoint)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.weights = np.zeros((0, 0), dtype=np.float32)
        self.masked = np.zeros((0, 0), dtype=bool)
        self.query_labels: list[str] = []
        self.key_labels: list[str] = []
        self.signed = False  # showing a difference A − B

        self.title_label = QLabel("Attention pattern")
        self.title_label.setFont(scaled_font(self, 1.35, bold=True))
        self.title_label.setWordWrap(True)
        self.note_label = QLabel("")
        self.note_label.setFont(scaled_font(self, 1.05))
        self.note_label.setWordWrap(True)
        self.hover_label = QLabel("Hover a cell for its exact weight.")
        self.hover_label.setProperty("export_hidden", True)  # not on slides
        self.hover_label.setFont(scaled_font(self, 1.1))
        self.hover_label.setMinimumHeight(self.hover_label.fontMetrics().height() * 2 + 4)
        self.hover_label.setWordWrap(True)

        tick_font = scaled_font(self, 1.1)
        self.key_axis = TokenAxis("left", font=tick_font)
        self.query_axis = TokenAxis("bottom", font=tick_font)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.plot: pg.PlotItem = self.graphics.addPlot(
            axisItems={"left": self.key_axis, "bottom": self.query_axis})
        label_style = {"font-size": f"{scaled_font(self, 1.15).pointSizeF():.0f}pt",
                       "color": "#141414"}
        self.plot.setLabel("left", typeset("key t_z (attended to)"), **label_style)
        self.plot.setLabel("bottom", typeset("query t_x (attends from)"), **label_style)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.getViewBox().invertY(True)
        self.plot.getViewBox().setMouseEnabled(x=False, y=False)
        self.plot.getViewBox().setAspectLocked(False)
        for side in ("left", "bottom"):
            self.plot.getAxis(side).setPen(pg.mkPen("#444"))
            self.plot.getAxis(side).setTextPen(pg.mkPen("#141414"))

        self._mask_fill = pg.QtWidgets.QGraphicsRectItem()
        self._mask_fill.setBrush(QColor(*MASK_LIGHT))
        self._mask_fill.setPen(QPen(Qt.PenStyle.NoPen))
        self._mask_hatch = pg.QtWidgets.QGraphicsRectItem()
        self._mask_hatch.setBrush(hatch_brush())
        self._mask_hatch.setPen(QPen(Qt.PenStyle.NoPen))
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setLookupTable(pattern_lut())
        for item in (self._mask_fill, self._mask_hatch, self.image):
            self.plot.addItem(item)
        self._mask_fill.setZValue(-2)
        self._mask_hatch.setZValue(-1)
        self.colorbar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=pattern_colormap(),
                                        interactive=False, width=22)
        self.colorbar.getAxis("right").setTickFont(tick_font)
        self.colorbar.getAxis("right").setTextPen(pg.mkPen("#141414"))
        self.graphics.addItem(self.colorbar, row=0, col=1)
        self._value_texts: list[pg.TextItem] = []
        self.plot.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.plot.scene().sigMouseClicked.connect(self._on_mouse_clicked)

        legend = QHBoxLayout()
        legend.addWidget(MaskSwatch())
        self.legend_label = QLabel(MASK_LEGEND)
        self.legend_label.setFont(scaled_font(self, 1.0))
        legend.addWidget(self.legend_label)
        legend.addStretch(1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.title_label)
        layout.addWidget(self.note_label)
        layout.addWidget(self.graphics, 1)
        layout.addLayout(legend)
        layout.addWidget(self.hover_label)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(620, 600)

    def clear(self, message: str = "No attention to show.") -> None:
        self.set_pattern(np.zeros((0, 0), np.float32), None, [], [], message)

    def set_pattern(self, weights: np.ndarray, masked: np.ndarray | None,
                    query_labels: Sequence[str], key_labels: Sequence[str], title: str,
                    note: str = "", signed: bool = False) -> None:
        """Show one head: ``weights`` (l_z, l_x), keys down the rows, queries along columns
        (``signed``: a difference A − B in −1..1)."""
        weights = np.asarray(weights, dtype=np.float32)
        if weights.ndim != 2:
            raise ValueError(f"expected a (l_z, l_x) pattern, got shape {weights.shape}")
        lz, lx = weights.shape
        masked = (np.zeros((lz, lx), bool) if masked is None
                  else np.asarray(masked, dtype=bool).reshape(lz, lx))
        if len(query_labels) != lx or len(key_labels) != lz:
            raise ValueError(f"{len(query_labels)} query / {len(key_labels)} key labels for "
                             f"a pattern of {lz} keys × {lx} queries")
        self.weights, self.masked = weights, masked
        if signed != self.signed:
            self.signed = signed
            cmap = diverging() if signed else pattern_colormap()
            self.image.setLookupTable(_signed_lut() if signed else pattern_lut())
            self.colorbar.setColorMap(cmap)
            self.colorbar.setLevels(values=(-1.0, 1.0) if signed else (0.0, 1.0))
        self.query_labels, self.key_labels = list(query_labels), list(key_labels)
        self.title_label.setText(title)
        set_typeset(self.note_label, note)  # "A = softmax(S / √d_attn) …", "t_z ≤ t_x"
        self.legend_label.setText(MASK_LEGEND if masked.any()
                                  else f"{MASK_LEGEND} — none here")
        self.key_axis.set_labels(self.key_labels)
        self.query_axis.set_labels(self.query_labels)
        rect = QRectF(-0.5, -0.5, lx, lz)
        self._mask_fill.setRect(rect)
        self._mask_hatch.setRect(rect)
        if lz and lx:
            shown = np.where(masked, np.nan, weights).astype(np.float32)
            self.image.setImage(np.ascontiguousarray(shown),
                                levels=(-1.0, 1.0) if signed else (0.0, 1.0), autoLevels=False)
            self.image.setRect(rect)
            self.plot.getViewBox().setRange(xRange=(-0.5, lx - 0.5), yRange=(-0.5, lz - 0.5),
                                            padding=0)
        else:
            self.image.clear()
        self._update_value_texts()
        self.hover_label.setText("Hover a cell for its exact weight" +
                                 (" difference A − B." if signed else "."))

    def _update_value_texts(self) -> None:
        lz, lx = self.weights.shape
        show = 0 < max(lz, lx) <= VALUE_TEXT_MAX
        needed = lz * lx if show else 0
        font = scaled_font(self, 0.95 if max(lz, lx) <= 8 else 0.85)
        while len(self._value_texts) < needed:
            item = pg.TextItem(anchor=(0.5, 0.5))
            item.setFont(font)
            self.plot.addItem(item)
            self._value_texts.append(item)
        colors = _signed_lut() if self.signed else pattern_lut()
        k = 0
        for row in range(lz if show else 0):
            for col in range(lx):
                item = self._value_texts[k]
                k += 1
                if self.masked[row, col]:
                    item.setVisible(False)
                    continue
                value = float(self.weights[row, col])
                item.setFont(font)
                item.setText(_cell_text(value, self.signed))
                level = (value + 1) / 2 if self.signed else value
                item.setColor(text_color_on(colors[int(np.clip(level * 255 + 0.5, 0, 255))]))
                item.setPos(col, row)
                item.setVisible(True)
        for item in self._value_texts[k:]:
            item.setVisible(False)

    def hover_at(self, row: int, col: int) -> str:
        """The text shown when hovering key row ``row``, query column ``col``."""
        lz, lx = self.weights.shape
        if not (0 <= row < lz and 0 <= col < lx):
            return ""
        query = f"query “{visible_token(self.query_labels[col])}” (t_x = {col + 1})"
        key = f"key “{visible_token(self.key_labels[row])}” (t_z = {row + 1})"
        if self.masked[row, col]:
            return f"{query} → {key}: masked (score −∞ before softmax, weight 0)"
        if self.signed:
            return f"{query} → {key}: A − B = {self.weights[row, col]:+.4f}"
        return f"{query} → {key}: weight {self.weights[row, col]:.4f}"

    def _on_mouse_moved(self, pos: QPointF) -> None:
        cell = cell_under(self.plot.getViewBox(), pos)
        if cell is None:
            self.cell_hovered.emit(-1, -1)
            return
        row, col = cell
        text = self.hover_at(row, col)
        if text:
            self.hover_label.setText(text)
            self.cell_hovered.emit(row, col)

    def cell_at(self, scene_pos: QPointF) -> tuple[int, int] | None:
        """(key row, query column) under a scene position, None outside the cells."""
        cell = cell_under(self.plot.getViewBox(), scene_pos)
        lz, lx = self.weights.shape
        return cell if cell is not None and 0 <= cell[0] < lz and 0 <= cell[1] < lx else None

    def _on_mouse_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.RightButton:
            return
        cell = self.cell_at(event.scenePos())
        if cell is not None:
            event.accept()
            self.cell_context.emit(*cell, event.screenPos().toPoint())

    def cell_center(self, row: int, col: int) -> QPointF:
        """The centre of cell (row, col) in this widget's coordinates."""
        scene = self.plot.getViewBox().mapViewToScene(QPointF(col, row))
        in_view = self.graphics.mapFromScene(scene)
        return QPointF(self.graphics.mapTo(self, in_view))

    def cell_rgba(self, row: int, col: int) -> tuple[int, int, int, int]:
        """The rendered colour near a cell's top-left corner, clear of its value text."""
        image = self.grab().toImage()
        scene = self.plot.getViewBox().mapViewToScene(QPointF(col - 0.3, row - 0.3))
        point = self.graphics.mapTo(self, self.graphics.mapFromScene(scene))
        ratio = image.devicePixelRatio()
        return image.pixelColor(int(point.x() * ratio), int(point.y() * ratio)).getRgb()

    def export_parts(self) -> ViewParts:
        """The pattern A (ℓ_z × ℓ_x) with its head's title and the query tokens."""
        weights = self.weights
        table = None
        if weights is not None and np.asarray(weights).size:
            table = Table(np.asarray(weights), list(self.key_labels),
                          list(self.query_labels), "l_z", "l_x")
        formula = ("A_A − A_B: the pattern on text A minus the pattern on text B"
                   if self.signed else "A = softmax(S / √d_attn), each column sums to 1")
        caption = Caption(self.title_label.text(), "ℓ_z × ℓ_x", formula,
                          tokens_line(self.query_labels))
        return ViewParts(self, caption, table)


