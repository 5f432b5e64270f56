"""A head's anatomy, opened from the Attention tab's head menu: its QK and OV circuits read
through W_e and W_u as token × token heatmaps (a small vocabulary) or as their top singular
directions read against the vocabulary (a large one), and its Q-, K- and V-composition with
the previous layer's heads drawn as lines whose width is the score
(``explorer.analysis.anatomy``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QDialog, QGridLayout, QLabel, QVBoxLayout, QWidget

from explorer.tokenize import token_label
from explorer.ui.widgets.theme import diverging
from explorer.ui.widgets.token_axis import TokenAxis

PORT_COLOURS = {"q": (31, 119, 180), "k": (214, 39, 40), "v": (44, 160, 44)}
MAX_WIDTH = 24  # the line of a composition score of 1, in pixels (0.5: 12 px)


def _labels(tokenizer: Any, n: int) -> list[str]:
    return [token_label(tokenizer, i) if tokenizer is not None else f"#{i}" for i in range(n)]


def _heatmap(title: str, matrix: np.ndarray, labels: list[str], rows: str,
             columns: str) -> pg.PlotWidget:
    left, bottom = TokenAxis("left"), TokenAxis("bottom")
    plot = pg.PlotWidget(title=title, axisItems={"left": left, "bottom": bottom})
    plot.setBackground("w")
    plot.setMenuEnabled(False)
    plot.setLabel("left", rows)
    plot.setLabel("bottom", columns)
    scale = float(np.abs(matrix).max()) or 1.0
    image = pg.ImageItem(matrix.T)  # ImageItem's first axis is x: the columns
    image.setLookupTable(diverging().getLookupTable(nPts=256))
    image.setLevels((-scale, scale))
    plot.addItem(image)
    plot.invertY(True)
    left.set_labels(labels)
    bottom.set_labels(labels)
    plot.setRange(xRange=(0, matrix.shape[1]), yRange=(0, matrix.shape[0]), padding=0)
    return plot


def _directions_text(title: str, directions: list, tokenizer: Any,
                     sides: tuple[str, str]) -> QLabel:
    lines = [f"<b>{title}</b>"]
    for i, d in enumerate(directions, 1):
        left = " ".join(token_label(tokenizer, t) for t in d.left)
        right = " ".join(token_label(tokenizer, t) for t in d.right)
        lines.append(f"{i}. σ = {d.value:.2f}: {sides[0]} {left} · {sides[1]} {right}")
    label = QLabel("<br>".join(lines))
    label.setWordWrap(True)
    return label


def _composition_plot(anatomy: Any, n_heads: int) -> pg.PlotWidget:
    """The previous layer's heads below, this head above, one line per Q-, K- and
    V-composition score, its width the score."""
    plot = pg.PlotWidget(title=f"composition with layer {anatomy.layer}'s heads "
                               "(line width: the score)")
    plot.setBackground("w")
    plot.setMenuEnabled(False)
    plot.hideAxis("left")
    plot.hideAxis("bottom")
    plot.setMouseEnabled(False, False)
    top = ((n_heads - 1) / 2, 1.0)
    offsets = {"q": -0.15, "k": 0.0, "v": 0.15}
    legend = plot.addLegend(offset=(5, 5))
    for port, colour in PORT_COLOURS.items():
        baseline = anatomy.baseline.get(port)
        name = f"{port.upper()}-composition" + (f" (random {baseline:.2f})" if baseline else "")
        legend.addItem(pg.PlotDataItem(pen=pg.mkPen(colour, width=3)), name)
    for source, port, score in anatomy.composition:
        x0 = source.head
        pen = pg.mkPen(PORT_COLOURS[port], width=max(0.5, MAX_WIDTH * score))
        plot.plot([x0, top[0] + offsets[port]], [0.0, top[1]], pen=pen)
    for h in range(n_heads):
        text = pg.TextItem(f"L{anatomy.layer}H{h + 1}", color="k", anchor=(0.5, -0.2))
        text.setPos(h, 0.0)
        plot.addItem(text)
    plot.plot([h for h in range(n_heads)], [0.0] * n_heads, pen=None, symbol="o",
              symbolBrush="w", symbolPen="k", symbolSize=14)
    plot.plot([top[0]], [top[1]], pen=None, symbol="o", symbolBrush=(255, 200, 80),
              symbolPen="k", symbolSize=18)
    mark = pg.TextItem(f"L{anatomy.layer + 1}H{anatomy.head + 1}", color="k",
                       anchor=(0.5, 1.3))
    mark.setPos(*top)
    plot.addItem(mark)
    plot.setRange(xRange=(-0.8, n_heads - 0.2), yRange=(-0.4, 1.4), padding=0)
    return plot


class HeadAnatomyDialog(QDialog):
    """The anatomy of one head (``explorer.analysis.anatomy.HeadAnatomy``)."""

    def __init__(self, anatomy: Any, tokenizer: Any, n_heads: int,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.anatomy = anatomy
        name = f"layer {anatomy.layer + 1} · head {anatomy.head + 1}"
        self.setWindowTitle(f"Anatomy of {name}")
        layout = QVBoxLayout(self)
        intro = QLabel(f"<b>{name}</b>: what it attends to and what it writes, read through "
                       "the token embedding W_e and the unembedding W_u (positions and the "
                       "norms' scaling left out).")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        grid = QGridLayout()
        layout.addLayout(grid, 1)
        self.plots: list[pg.PlotWidget] = []
        if anatomy.qk is not None:
            labels = _labels(tokenizer, anatomy.qk.shape[0])
            qk = _heatmap("QK circuit: W_e W_QK W_eᵀ", anatomy.qk.numpy(), labels,
                          "query token", "key token")
            ov = _heatmap("OV circuit: (W_u W_OV W_e)ᵀ", anatomy.ov.numpy(), labels,
                          "attended (source) token", "output token raised")
            self.plots += [qk, ov]
            grid.addWidget(qk, 0, 0)
            grid.addWidget(ov, 0, 1)
        else:
            grid.addWidget(_directions_text("QK circuit, top singular directions",
                                            anatomy.qk_directions, tokenizer,
                                            ("queries", "→ keys")), 0, 0)
            grid.addWidget(_directions_text("OV circuit, top singular directions",
                                            anatomy.ov_directions, tokenizer,
                                            ("writes", "← reads")), 0, 1)
        if anatomy.composition:
            comp = _composition_plot(anatomy, n_heads)
            self.plots.append(comp)
            grid.addWidget(comp, 1, 0, 1, 2)
        else:
            grid.addWidget(QLabel("Layer 1 has no earlier heads to compose with."), 1, 0, 1, 2)
        self.resize(1000, 760)
