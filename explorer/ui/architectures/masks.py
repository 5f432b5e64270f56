"""The masks side by side: bidirectional, unidirectional and cross (``explorer.state.masks``)
on the same tokens and one colour scale; hovering a cell says what it means."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from explorer.state.masks import MaskData, explain
from explorer.ui.widgets import theme
from explorer.ui.widgets.typeset import set_typeset

ALLOWED = (33, 102, 172)  # theme.ACCENT: may attend
MASKED = (225, 225, 225)  # masked (−∞ before the softmax)
MAX_TICKS = 14  # token names on an axis at most; a longer text names every k-th


def _lut() -> np.ndarray:
    return np.array([MASKED, ALLOWED], dtype=np.ubyte)


class MasksWidget(QWidget):
    """``show_masks(masks)``: each mask as a plot (rows t_z, columns t_x), one scale."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.masks: list[MaskData] = []
        self.grid = QGridLayout()
        self.plots: list[pg.PlotWidget] = []
        self.titles: list[QLabel] = []
        for j in range(3):
            title = QLabel("")
            title.setFont(theme.title_font(scale=1.0))
            title.setWordWrap(True)
            plot = pg.PlotWidget()
            plot.setMenuEnabled(False)
            item = plot.getPlotItem()
            item.hideButtons()
            item.getViewBox().invertY(True)
            item.getViewBox().setMouseEnabled(x=False, y=False)
            item.setLabel("left", "t_z (attended to)")
            item.setLabel("bottom", "t_x (attending)")
            image = pg.ImageItem(axisOrder="row-major")
            image.setLookupTable(_lut())
            item.addItem(image)
            plot.scene().sigMouseMoved.connect(lambda pos, j=j: self._on_moved(j, pos))
            self.grid.addWidget(title, 0, j)
            self.grid.addWidget(plot, 1, j)
            self.grid.setColumnStretch(j, 1)
            self.titles.append(title)
            self.plots.append(plot)
        self.grid.setRowStretch(1, 1)
        legend = QLabel(f"<span style='background: rgb{ALLOWED}'>&nbsp;&nbsp;&nbsp;&nbsp;"
                        f"</span>&nbsp;may attend (Mask = 1) &nbsp;&nbsp; <span style="
                        f"'background: rgb{MASKED}'>&nbsp;&nbsp;&nbsp;&nbsp;</span>&nbsp;"
                        "masked (Mask = 0: −∞ before the softmax)")
        self.hover = QLabel("Hover a cell: what it allows, and why.")
        self.hover.setWordWrap(True)
        self.hover.setMinimumHeight(self.hover.fontMetrics().lineSpacing() * 2 + 4)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(self.grid, 1)
        layout.addWidget(legend)
        layout.addWidget(self.hover)

    def show_masks(self, masks: list[MaskData]) -> None:
        self.masks = masks
        for title, plot, mask in zip(self.titles, self.plots, masks):
            set_typeset(title, f"{mask.title}: {mask.rule}")
            item = plot.getPlotItem()
            image = item.items[0]
            rows, cols = mask.allowed.shape
            image.setImage(mask.allowed.astype(np.float32), levels=(0, 1), autoLevels=False)
            image.setRect(0, 0, cols, rows)
            item.getViewBox().setRange(xRange=(0, cols), yRange=(0, rows), padding=0)
            item.getAxis("bottom").setTicks([_ticks(mask.x_labels)])
            item.getAxis("left").setTicks([_ticks(mask.z_labels)])

    def cell_text(self, j: int, t_z: int, t_x: int) -> str:
        return explain(self.masks[j], t_z, t_x)

    def _on_moved(self, j: int, pos: QPointF) -> None:
        if j >= len(self.masks):
            return
        point = self.plots[j].getPlotItem().getViewBox().mapSceneToView(pos)
        t_x, t_z = int(np.floor(point.x())), int(np.floor(point.y()))
        rows, cols = self.masks[j].allowed.shape
        if 0 <= t_z < rows and 0 <= t_x < cols:
            self.hover.setText(self.cell_text(j, t_z, t_x))


def _ticks(labels: Any) -> list[tuple[float, str]]:
    every = max(1, -(-len(labels) // MAX_TICKS))
    return [(i + 0.5, str(s)) for i, s in enumerate(labels) if i % every == 0]
