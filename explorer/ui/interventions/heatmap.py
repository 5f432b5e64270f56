"""A sweep's result as a heatmap: layers down, heads or positions across, one diverging
colour scale centred at 0; a click reports the cell."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from explorer.ui.widgets.cells import cell_under
from explorer.ui.widgets.export_parts import Caption, Table, ViewParts
from explorer.ui.widgets.style import scaled_font
from explorer.ui.widgets.theme import diverging
from explorer.ui.widgets.token_axis import TokenAxis


class SweepHeatmap(QWidget):
    """``show(values, rows, columns, title, what)``: values (rows, columns); ``cell_clicked
    (row, column)`` when the user clicks a cell; ``hover_at(row, col)`` its text."""

    cell_clicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.values = np.zeros((0, 0))
        self.rows: list[str] = []
        self.columns: list[str] = []
        self.what = ""
        self.title_label = QLabel("")
        self.title_label.setFont(scaled_font(self, 1.1, bold=True))
        self.title_label.setWordWrap(True)
        self.hover_label = QLabel("Click a cell to open it.")
        self.hover_label.setWordWrap(True)
        self.row_axis = TokenAxis("left", font=scaled_font(self, 1.0))
        self.col_axis = TokenAxis("bottom", font=scaled_font(self, 1.0))
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.plot = self.graphics.addPlot(axisItems={"left": self.row_axis,
                                                     "bottom": self.col_axis})
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        view = self.plot.getViewBox()
        view.invertY(True)
        view.setMouseEnabled(x=False, y=False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setLookupTable(diverging().getLookupTable(0.0, 1.0, 256))
        self.plot.addItem(self.image)
        self.colorbar = pg.ColorBarItem(values=(-1.0, 1.0), colorMap=diverging(),
                                        interactive=False, width=18)
        self.graphics.addItem(self.colorbar, row=0, col=1)
        self.graphics.setMinimumHeight(170)
        self.graphics.setMaximumHeight(300)  # a layers × heads grid reads well at this size
        self.plot.scene().sigMouseClicked.connect(self._on_clicked)
        self.plot.scene().sigMouseMoved.connect(self._on_moved)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title_label)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.hover_label)

    def show_values(self, values, rows: Sequence[str], columns: Sequence[str], title: str,
                    what: str) -> None:
        values = np.asarray(values, dtype=np.float64)
        self.values, self.rows, self.columns, self.what = values, list(rows), list(columns), what
        self.title_label.setText(title)
        n_rows, n_cols = values.shape
        scale = float(np.nanmax(np.abs(values))) if values.size else 1.0
        scale = scale if np.isfinite(scale) and scale > 0 else 1.0
        self.image.setImage(values.astype(np.float32), levels=(-scale, scale),
                            autoLevels=False)
        self.image.setRect(QRectF(-0.5, -0.5, n_cols, n_rows))
        self.colorbar.setLevels(values=(-scale, scale))
        self.row_axis.set_labels(self.rows)
        self.col_axis.set_labels(self.columns)
        self.plot.getViewBox().setRange(xRange=(-0.5, n_cols - 0.5),
                                        yRange=(-0.5, n_rows - 0.5), padding=0)
        self.hover_label.setText("Hover a cell for its value; click it to open it.")

    def clear(self, message: str = "") -> None:
        self.values = np.zeros((0, 0))
        self.image.clear()
        self.title_label.setText(message)

    def cell_at(self, scene_pos: QPointF) -> tuple[int, int] | None:
        cell = cell_under(self.plot.getViewBox(), scene_pos)
        n_rows, n_cols = self.values.shape
        return cell if cell is not None and 0 <= cell[0] < n_rows and 0 <= cell[1] < n_cols \
            else None

    def cell_center(self, row: int, col: int) -> QPointF:
        scene = self.plot.getViewBox().mapViewToScene(QPointF(col, row))
        return QPointF(self.graphics.mapTo(self, self.graphics.mapFromScene(scene)))

    def hover_at(self, row: int, col: int) -> str:
        return f"{self.rows[row]} · {self.columns[col]}: {self.what} {self.values[row, col]:+.4f}"

    def _on_clicked(self, event) -> None:
        cell = self.cell_at(event.scenePos())
        if cell is not None:
            self.cell_clicked.emit(*cell)

    def _on_moved(self, pos: QPointF) -> None:
        cell = self.cell_at(pos)
        if cell is not None:
            self.hover_label.setText(self.hover_at(*cell))

    def export_parts(self) -> ViewParts:
        table = Table(self.values, self.rows, self.columns, "layer", "") \
            if self.values.size else None
        return ViewParts(self, Caption(self.title_label.text(), "", self.what, ""), table)
