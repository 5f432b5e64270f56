"""Which picture, caption and numbers exporting a view means.

``view_parts(widget) -> ViewParts(target, caption, table, series)``: a view that knows
what it shows describes itself (``widget.export_parts()``, defined by each feature's
views); plots export their curves; anything else exports its picture alone.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QAbstractScrollArea, QWidget

from explorer.ui.widgets.export_parts import Caption, ViewParts, curve_series
from explorer.ui.widgets.scroll import unwrap


def view_parts(widget: QWidget) -> ViewParts:
    """What exporting ``widget`` means (see the module docstring)."""
    widget = unwrap(widget)
    describe = getattr(widget, "export_parts", None)
    if callable(describe):
        return describe()
    if isinstance(widget, (pg.GraphicsLayoutWidget, pg.PlotWidget)):
        series = curve_series(widget)
        return ViewParts(widget, Caption("Plot") if series else None, None, series)
    if isinstance(widget, QAbstractScrollArea):
        return ViewParts(widget.viewport(), None, None)
    return ViewParts(widget, None, None)
