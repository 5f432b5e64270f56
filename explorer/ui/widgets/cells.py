"""Which cell of an image drawn with one cell per unit, centred on whole numbers (as the
pattern views and the sweep heatmaps draw them), lies under a scene position."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QPointF


def cell_under(view: pg.ViewBox, scene_pos: QPointF) -> tuple[int, int] | None:
    """(row, column) nearest ``scene_pos``; None outside the view box. The caller checks
    that the cell exists (a point between the last cell and the box's edge has none)."""
    if not view.sceneBoundingRect().contains(scene_pos):
        return None
    point = view.mapSceneToView(scene_pos)
    return math.floor(point.y() + 0.5), math.floor(point.x() + 0.5)
