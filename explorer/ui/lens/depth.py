"""The target token's probability and rank over depth at one position (the lens column
clicked): two pyqtgraph plots sharing the residual points as their x axis.

Public API (``DepthPlot``, a ``pg.GraphicsLayoutWidget``): ``show_column(lens, position,
title_lines)``; ``clear()``; ``probs``/``ranks`` (numpy, what is drawn; ranks 1-based);
``export_parts()``.
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg

from explorer.analysis import LensResult
from explorer.ui.widgets.export_parts import Caption, ViewParts, curve_series

PROB_PEN = pg.mkPen("#2563eb", width=3)
RANK_PEN = pg.mkPen("#dc2626", width=3)


def tick_label(label: str) -> str:
    """"embedding" -> "E", "layer 2 attention" -> "2A", "... cross-attention" -> "2C",
    "layer 2 MLP" -> "2M": short enough for a tick under every point."""
    parts = label.split()
    if len(parts) >= 3 and parts[0] == "layer":
        return parts[1] + {"attention": "A", "cross-attention": "C", "MLP": "M"}.get(
            parts[2], parts[2][:1].upper())
    return label[:1].upper()


class DepthPlot(pg.GraphicsLayoutWidget):
    """P(target) and its rank at every residual point of one position."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.setMinimumSize(290, 200)
        self.title = self.addLabel("Click a column of the grid:<br>its target by depth",
                                   row=0, col=0, size="12pt", color="#111")
        self.prob_plot = self.addPlot(row=1, col=0)
        self.rank_plot = self.addPlot(row=2, col=0)
        tick_font = self.font()
        tick_font.setPointSize(12)
        for plot, name in ((self.prob_plot, "P(target)"), (self.rank_plot, "rank")):
            plot.setLabel("left", name, **{"font-size": "12pt", "color": "#111"})
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            for side in ("left", "bottom"):
                axis = plot.getAxis(side)
                axis.setTextPen("#111")
                axis.setPen("#555")
                axis.setTickFont(tick_font)
        self.rank_plot.invertY(True)
        self.prob_curve = self.prob_plot.plot([], [], pen=PROB_PEN, symbol="o", symbolSize=9,
                                              symbolBrush="#2563eb", name="P(target)")
        self.rank_curve = self.rank_plot.plot([], [], pen=RANK_PEN, symbol="o", symbolSize=9,
                                              symbolBrush="#dc2626", name="rank of target")
        self.probs = np.zeros(0)
        self.ranks = np.zeros(0)
        self.caption = "Target over depth"
        self.setToolTip("x: the residual points in depth order: E the embedding, 2A after "
                        "layer 2's attention (2C its cross-attention), 2M after its MLP")

    def clear_plot(self) -> None:
        self.prob_curve.setData([], [])
        self.rank_curve.setData([], [])
        self.probs = np.zeros(0)
        self.ranks = np.zeros(0)

    def show_column(self, lens: LensResult, position: int, title: list[str]) -> None:
        """Plot column ``position`` of ``lens``; ``title`` its lines (short: the plot is
        narrow)."""
        column = lens.column(position)
        self.probs = column["probs"].double().numpy()
        self.ranks = column["ranks"].double().numpy() + 1
        x = np.arange(len(self.probs), dtype=float)
        self.prob_curve.setData(x, self.probs)
        self.rank_curve.setData(x, self.ranks)
        self.prob_plot.setYRange(0, 1, padding=0.05)
        # inner ticks: pyqtgraph drops a label that would stick out at the ends
        self.prob_plot.getAxis("left").setTicks([[(0.25, ".25"), (0.5, ".5"), (0.75, ".75")]])
        top = max(2.0, float(np.nanmax(self.ranks)))
        self.rank_plot.setYRange(1, top, padding=0.12)
        ticks = [[(i, tick_label(p.label)) for i, p in enumerate(lens.points)]]
        for plot in (self.prob_plot, self.rank_plot):
            plot.getAxis("bottom").setTicks(ticks)
            plot.setXRange(-0.3, len(x) - 0.7, padding=0)
        self.caption = " ".join(title)
        self.title.setText("<br>".join(html.escape(line) for line in title), size="12pt",
                           color="#111")

    def export_parts(self) -> ViewParts:
        return ViewParts(self, Caption(self.caption), None,
                         curve_series(self))
