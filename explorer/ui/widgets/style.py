"""Colours, fonts and small helpers shared by the attention and output views.

Public API:

- ``PATTERN_CMAP_NAME`` ("viridis"): the sequential colour map for probabilities 0..1.
- ``pattern_colormap() -> pg.ColorMap`` and ``pattern_lut() -> np.ndarray`` (256, 4) uint8.
- ``probs_to_rgba(probs, masked=None) -> np.ndarray`` (rows, cols, 4) uint8: probabilities
  in 0..1 through the colour map, masked cells flat ``MASK_COLOR`` (used for thumbnails).
- ``MASK_LIGHT``, ``MASK_DARK`` (RGB): masked cells are light grey hatched in dark grey.
- ``MASK_LEGEND``: the legend text for masked cells.
- ``HEAD_COLORS``: one QColor per head (cycled), for the line view.
- ``SELECTION_COLOR``: the frame of the selected thumbnail and hovered tokens.
- ``visible_token(s) -> str``: ``explorer.tokenize.visible``, the one way whitespace in a
  token is made visible (space ␣, newline ⏎, tab ⇥), re-exported for the views.
- ``scaled_font(widget, scale, bold=False) -> QFont``: the widget's font, scaled, at least 11 pt.
- ``hatch_brush() -> QBrush`` and ``paint_mask_swatch(painter, rect)``: the masked look.
"""

from __future__ import annotations

import functools

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QWidget

from explorer.tokenize.display import visible

visible_token = visible  # the views' name for the one way whitespace in a token is shown
PATTERN_CMAP_NAME = "viridis"
MASK_LIGHT = (215, 215, 215)
MASK_DARK = (110, 110, 110)
MASK_COLOR = (190, 190, 190)
MASK_LEGEND = "masked (−∞ before softmax: may not attend)"
SELECTION_COLOR = QColor(255, 140, 0)
TEXT_COLOR = QColor(20, 20, 20)
MUTED_COLOR = QColor(105, 105, 105)
HEAD_COLORS = [QColor(c) for c in (
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#393b79", "#637939",
)]
MIN_POINT_SIZE = 11.0

@functools.cache
def pattern_colormap() -> pg.ColorMap:
    """The sequential colour map for attention weights and probabilities."""
    return pg.colormap.get(PATTERN_CMAP_NAME)


@functools.cache
def pattern_lut() -> np.ndarray:
    """The colour map as a (256, 4) uint8 lookup table."""
    lut = pattern_colormap().getLookupTable(0.0, 1.0, nPts=256, alpha=True)
    return np.ascontiguousarray(lut, dtype=np.ubyte)


def probs_to_rgba(probs: np.ndarray, masked: np.ndarray | None = None) -> np.ndarray:
    """Probabilities (..., rows, cols) in 0..1 -> RGBA uint8 (..., rows, cols, 4); masked
    cells flat grey. Each pixel is one 32-bit look-up (144 thumbnails per keystroke)."""
    scaled = np.nan_to_num(probs, nan=0.0) * 255.0 + 0.5
    index = np.clip(scaled, 0, 255, out=scaled).astype(np.uint8)
    pixels = _lut32()[index]
    if masked is not None:
        pixels[np.broadcast_to(masked, pixels.shape)] = _mask32()
    return pixels.view(np.ubyte).reshape(*pixels.shape, 4)


@functools.cache
def _lut32() -> np.ndarray:
    return pattern_lut().view(np.uint32).reshape(256)


@functools.cache
def _mask32() -> np.uint32:
    return np.array([*MASK_COLOR, 255], dtype=np.ubyte).view(np.uint32)[0]


def text_color_on(rgba: np.ndarray | tuple) -> QColor:
    """Black or white, whichever reads better on a cell of colour ``rgba``."""
    r, g, b = (float(v) for v in tuple(rgba)[:3])
    return QColor(0, 0, 0) if 0.299 * r + 0.587 * g + 0.114 * b > 140 else QColor(255, 255, 255)


def scaled_font(widget: QWidget, scale: float = 1.0, bold: bool = False) -> QFont:
    font = QFont(widget.font())
    size = font.pointSizeF() if font.pointSizeF() > 0 else 12.0
    font.setPointSizeF(max(MIN_POINT_SIZE, size * scale))
    font.setBold(bold)
    return font


def hatch_brush() -> QBrush:
    """The dark diagonal hatching drawn over light grey for masked cells."""
    return QBrush(QColor(*MASK_DARK), Qt.BrushStyle.BDiagPattern)


def paint_mask_swatch(painter: QPainter, rect: QRectF) -> None:
    """A legend swatch in the masked cells' look."""
    painter.fillRect(rect, QColor(*MASK_LIGHT))
    painter.fillRect(rect, hatch_brush())
    painter.setPen(QPen(QColor(*MASK_DARK), 1))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRect(rect)


def percent(v: float) -> str:
    """A probability as a readable percentage: "12.3 %", "0.05 %", "< 0.01 %" (never 2e-06)."""
    if v == 0 or v >= 0.001:
        return f"{100 * v:.1f}\u00a0%"
    return f"{100 * v:.2f}\u00a0%" if v >= 1e-4 else "<\u00a00.01\u00a0%"
