"""Fonts, colours and colour maps shared by the window's views (readable on a projector)."""

from __future__ import annotations

import functools

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QApplication

BASE_POINT_SIZE = 12
TITLE_SCALE = 1.45
MASK_LIGHT = (215, 215, 215)
MASK_DARK = (120, 120, 120)
HIGHLIGHT = QColor(255, 224, 130)  # the executing pseudocode line, the current overview box
ACCENT = QColor(33, 102, 172)
MUTED = QColor(110, 110, 110)
MASK_LEGEND = "masked (−∞)"


def apply_theme(app: QApplication, point_size: int = BASE_POINT_SIZE) -> None:
    """Application font (the bundled Noto Sans, with every glyph of the paper's notation)
    and pyqtgraph defaults (light background, antialiased lines)."""
    from explorer.ui.widgets.typeset import notation_font

    font = notation_font(app.font())
    font.setPointSize(point_size)
    app.setFont(font)
    pg.setConfigOptions(background="w", foreground="k", antialias=True)


def title_font(base: QFont | None = None, scale: float = TITLE_SCALE) -> QFont:
    font = QFont(base) if base is not None else QFont(QApplication.font())
    font.setPointSizeF(font.pointSizeF() * scale)
    font.setBold(True)
    return font


def mono_font(scale: float = 1.0) -> QFont:
    """A fixed-width font for pseudocode and numbers."""
    font = QFont("DejaVu Sans Mono")
    font.setStyleHint(QFont.StyleHint.Monospace)
    font.setPointSizeF(QApplication.font().pointSizeF() * scale)
    return font


@functools.cache
def diverging() -> pg.ColorMap:
    """Blue (negative) – white (0) – red (positive), for signed values centred at 0."""
    return pg.colormap.get("CET-D1A")


@functools.cache
def sequential() -> pg.ColorMap:
    """Perceptually uniform dark-to-bright, for probabilities and attention patterns."""
    return pg.colormap.get("viridis")


def colormap_for(kind: str) -> pg.ColorMap:
    return sequential() if kind in ("pattern", "probs", "ids") else diverging()


@functools.lru_cache(maxsize=8)
def hatch_cell(size: int = 8) -> np.ndarray:
    """One masked cell as RGBA pixels: light grey with dark diagonal hatching."""
    i, j = np.indices((size, size))
    dark = ((i + j) % size) < 2
    cell = np.empty((size, size, 4), dtype=np.ubyte)
    cell[...] = (*MASK_LIGHT, 255)
    cell[dark] = (*MASK_DARK, 255)
    return cell


def mask_overlay(mask: np.ndarray, size: int | None = None) -> np.ndarray:
    """RGBA image (rows*size, cols*size, 4): hatched where ``mask`` is True, clear elsewhere.

    ``size`` pixels per cell (default: 8, fewer for long texts, whose cells are drawn
    smaller than that anyway), built in one allocation."""
    rows, cols = mask.shape
    if size is None:
        size = max(2, min(8, 1024 // max(rows, cols, 1)))
    cell = hatch_cell(size).view(np.uint32)[..., 0]  # one 32-bit RGBA value per pixel
    cells = np.zeros((rows, cols, size, size), dtype=np.uint32)
    cells[np.asarray(mask, dtype=bool)] = cell
    image = cells.transpose(0, 2, 1, 3).reshape(rows * size, cols * size)
    return image.view(np.ubyte).reshape(rows * size, cols * size, 4)
