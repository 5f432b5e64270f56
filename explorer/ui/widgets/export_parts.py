"""What a view exports: the picture, its caption, the numbers behind it, its curves.

Shared by every feature (a view describes itself with ``export_parts()``) and by
``explorer.ui.lecture`` (which writes PNG, SVG, CSV and NPY files from these parts).
Nothing here knows any feature.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyqtgraph as pg


@dataclass
class Caption:
    """What the picture is: a bold title, a line with shape and formula, and the tokens."""

    title: str = ""
    shape: str = ""
    formula: str = ""
    tokens: str = ""

    def html_lines(self) -> list[tuple[str, bool]]:
        """(rich text, bold) for each non-empty line: the title, shape and formula typeset in
        the paper's notation, the tokens as written."""
        from explorer.trace.notation import to_html

        out = []
        if self.title:
            out.append((to_html(self.title), True))
        second = ("&nbsp;" * 6).join(p for p in (
            "shape " + to_html(self.shape) if self.shape else "",
            to_html(self.formula) if self.formula else "") if p)
        if second:
            out.append((second, False))
        if self.tokens:
            out.append((html.escape(f"tokens: {self.tokens}", quote=False), False))
        return out


@dataclass
class Table:
    """A matrix and how to read it: rows are ``row_dim``, columns ``col_dim`` (paper symbols)."""

    values: np.ndarray
    row_labels: Sequence[str] | None = None
    col_labels: Sequence[str] | None = None
    row_dim: str = "row"
    col_dim: str = "column"


def tokens_line(labels: Sequence[str] | None) -> str:
    """The caption's tokens line."""
    return " ".join(labels) if labels else ""


@dataclass
class ViewParts:
    """Exporting a view: ``target`` (a QWidget or QGraphicsItem) to draw, its caption, the
    matrix behind it (None where there is no single one) and its curves (name -> x, y)."""

    target: Any
    caption: Caption | None
    table: Table | None
    series: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


def curve_series(target: pg.PlotItem | pg.GraphicsLayoutWidget | pg.PlotWidget
                 ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """name -> (x, y) of every curve in a plot, a plot widget, or a layout of plots."""
    if isinstance(target, pg.PlotWidget):
        plots = [target.getPlotItem()]
    elif isinstance(target, pg.PlotItem):
        plots = [target]
    else:
        plots = [item for item in target.scene().items() if isinstance(item, pg.PlotItem)]
    series: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for p, plot in enumerate(plots):
        axis_name = plot.getAxis("left").labelText or f"plot {p + 1}"
        for c, item in enumerate(plot.listDataItems()):
            x, y = item.getData()
            if x is None or y is None:
                continue
            name = item.name() or (axis_name if c == 0 else f"{axis_name} {c + 1}")
            while name in series:
                name += "'"
            series[name] = (np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    return series
