"""Embedding projection: the first two principal components of the token embeddings W_e
(every token, or the text's) or of the residual stream at the selected step over the
text's positions, as a pyqtgraph scatter with token labels.

Public API (``ProjectionView``, a ``pg.PlotWidget``):

- ``set_projection(projection, labels, tokens, title)``: an ``explorer.analysis.Projection``,
  a label per row and the token id of each row (the row's token for embeddings, the
  token read at that position for the residual stream); ``show_message(message)``
  (PlotWidget owns ``clear``); ``message``.
- ``select_row(i)`` (-1: none), ``selected`` -> row; signal ``row_selected(int, int)``
  (row, its token id) when the user clicks a point.
- ``set_highlight(token=None, position=None)``: ring the points of that token / position
  (another view's selection); ``highlighted()`` -> the rows ringed.
- ``hovered_text`` -> the read-out of the point under the pointer; ``export_parts()``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal

from explorer.analysis import Projection
from explorer.ui.widgets.export_parts import Caption, Table, ViewParts
from explorer.ui.widgets.style import scaled_font, visible_token

MAX_LABELS = 250  # more points than this are labelled on hover and selection only
POINT = pg.mkBrush(37, 99, 235, 170)
RING = pg.mkPen("#ff8c00", width=3)


class ProjectionView(pg.PlotWidget):
    """The 2-D PCA scatter (see the module docstring)."""

    row_selected = Signal(int, int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent, background="w")
        self.setMinimumSize(300, 200)
        self.plot_item = self.getPlotItem()
        self.plot_item.showGrid(x=True, y=True, alpha=0.2)
        tick_font = self.font()
        tick_font.setPointSize(12)
        for side in ("left", "bottom"):
            axis = self.plot_item.getAxis(side)
            axis.setTickFont(tick_font)
            axis.enableAutoSIPrefix(False)  # coordinates as they are, no "(x0.001)"
            axis.setTextPen("#111")
            axis.setPen("#555")
        self.scatter = pg.ScatterPlotItem(size=11, brush=POINT, pen=pg.mkPen("w", width=0.5),
                                          hoverable=True, hoverSize=15,
                                          hoverBrush=pg.mkBrush("#ff8c00"))
        self.scatter.sigClicked.connect(self._on_clicked)
        self.scatter.sigHovered.connect(self._on_hovered)
        self.plot_item.addItem(self.scatter)
        self.rings = pg.ScatterPlotItem(size=22, brush=pg.mkBrush(0, 0, 0, 0), pen=RING)
        self.plot_item.addItem(self.rings)
        self.note = pg.TextItem("", color="#555", anchor=(0, 0))
        self._labels: list[str] = []
        self._tokens: list[int] = []
        self._texts: list[pg.TextItem] = []  # the labels shown (the first of _pool)
        self._pool: list[pg.TextItem] = []
        self._projection: Projection | None = None
        self._message = ""
        self._ringed: list[int] = []
        self.selected = -1
        self.hovered_text = ""
        self.show_message("Type some text to see its embedding projection.")

    # -- public API ----------------------------------------------------------------------
    def set_projection(self, projection: Projection, labels: Sequence[str],
                       tokens: Sequence[int], title: str) -> None:
        self._projection = projection
        self._labels = [visible_token(s) for s in labels]
        self._tokens = [int(t) for t in tokens]
        self._message = ""
        xy = projection.coords.double().numpy()
        if xy.shape[1] < 2:
            xy = np.concatenate([xy, np.zeros((xy.shape[0], 1))], axis=1)
        self._xy = xy
        self.scatter.setData(x=xy[:, 0], y=xy[:, 1], data=list(range(len(xy))))
        n_labels = len(xy) if len(xy) <= MAX_LABELS else 0
        while len(self._pool) < n_labels:  # text items are reused: typing makes no new ones
            item = pg.TextItem("", color="#111", anchor=(0, 1))
            item.setFont(self._label_font())
            self.plot_item.addItem(item)
            self._pool.append(item)
        for i, item in enumerate(self._pool):
            item.setVisible(i < n_labels)
            if i < n_labels:
                item.setText(self._labels[i])
                item.setPos(float(xy[i, 0]), float(xy[i, 1]))
        self._texts = self._pool[:n_labels]
        ratio = projection.ratio.double().numpy()
        style = {"font-size": "13pt", "color": "#111"}
        self.plot_item.setLabel("bottom", f"PC1 ({100 * ratio[0]:.1f} % of the variance)",
                                **style)
        second = f"PC2 ({100 * ratio[1]:.1f} % of the variance)" if ratio.size > 1 else "—"
        self.plot_item.setLabel("left", second, **style)
        self.plot_item.setTitle(title, size="13pt", color="#111")
        self.plot_item.enableAutoRange()
        self.selected = -1  # rows of another projection mean other points
        self._ringed = []
        self._draw_rings()

    def show_message(self, message: str) -> None:
        self._projection = None
        self._message = message
        self.scatter.clear()
        self.rings.clear()
        for item in self._pool:
            item.setVisible(False)
        self._texts = []
        self._labels, self._tokens = [], []
        self.plot_item.setTitle(message, size="13pt", color="#555")
        self.plot_item.setLabel("bottom", "")
        self.plot_item.setLabel("left", "")

    @property
    def message(self) -> str:
        return self._message

    @property
    def projection(self) -> Projection | None:
        return self._projection

    def labels(self) -> list[str]:
        return list(self._labels)

    def tokens(self) -> list[int]:
        return list(self._tokens)

    def select_row(self, row: int) -> None:
        self.selected = int(row) if 0 <= int(row) < len(self._tokens) else -1
        self._ringed = [self.selected] if self.selected >= 0 else []
        self._draw_rings()

    def set_highlight(self, token: int | None = None, position: int | None = None) -> None:
        """Ring the rows showing ``token`` (embeddings) or ``position`` (residual rows)."""
        rows: list[int] = []
        if self._projection is not None:
            if position is not None and self._projection.what.startswith("residual"):
                rows = [position] if 0 <= position < len(self._tokens) else []
            elif token is not None:
                rows = [i for i, t in enumerate(self._tokens) if t == token]
        self._ringed = rows
        self._draw_rings()

    def highlighted(self) -> list[int]:
        return list(self._ringed)

    # -- internals -----------------------------------------------------------------------
    def _label_font(self):
        return scaled_font(self, 1.0)

    def _draw_rings(self) -> None:
        if self._projection is None or not self._ringed:
            self.rings.clear()
            return
        xy = self._xy[self._ringed]
        self.rings.setData(x=xy[:, 0], y=xy[:, 1])
        if len(self._texts) == 0:  # too many points for labels: label the ringed ones
            for item in getattr(self, "_ring_texts", []):
                self.plot_item.removeItem(item)
            self._ring_texts = []
            for i in self._ringed:
                item = pg.TextItem(self._labels[i], color="#b45309", anchor=(0, 1))
                item.setFont(self._label_font())
                item.setPos(float(self._xy[i, 0]), float(self._xy[i, 1]))
                self.plot_item.addItem(item)
                self._ring_texts.append(item)

    def describe(self, row: int) -> str:
        what = self._projection.what if self._projection is not None else ""
        x, y = self._xy[row, 0], self._xy[row, 1]
        head = (f"position {row}: “{self._labels[row]}”" if what.startswith("residual")
                else f"token “{self._labels[row]}” (id {self._tokens[row]})")
        return f"{head}  PC1 {x:+.3f}, PC2 {y:+.3f}"

    def _on_hovered(self, _item, points, _event) -> None:
        if len(points):
            row = int(points[0].data())
            self.hovered_text = self.describe(row)
            self.setToolTip(self.hovered_text)
        else:
            self.hovered_text = ""
            self.setToolTip("")

    def _on_clicked(self, _item, points, _event) -> None:
        if not len(points):
            return
        row = int(points[0].data())
        self.select_row(row)
        self.row_selected.emit(row, self._tokens[row])

    def export_parts(self) -> ViewParts:
        if self._projection is None:
            return ViewParts(self, Caption("Embedding projection"), None)
        coords = self._projection.coords.double().numpy()
        return ViewParts(self, Caption(f"PCA of the {self._projection.what}", "n × 2",
                                       "(X − mean) = U S Vᵀ, coordinates U S"),
                         Table(coords, self._labels,
                               [f"PC{i + 1}" for i in range(coords.shape[1])], "row", "PC"),
                         {"PCA": (coords[:, 0], coords[:, 1] if coords.shape[1] > 1
                                  else np.zeros(len(coords)))})
