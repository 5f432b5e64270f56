"""Export any view for slides and papers: PNG (at a chosen scale), SVG, the tensor behind it
as CSV (with dimension symbols and token labels) or ``.npy``, curves as CSV, the clipboard.

Every function takes the thing to draw and a path, nothing of the window::

    export_png(widget, "heatmap.png", scale=2, caption=Caption("Layer 1 · A", "ℓ × ℓ", "A ← …"))
    export_svg(plot_item, "loss.svg")
    export_table(Table(values, row_labels, col_labels, "d_e", "l"), "x.csv")   # or x.npy
    export_curves_csv(curve_series(train_curves), "loss.csv")
    copy_image(widget, scale=2)

A caption band under the picture (title, then shape and formula, then the tokens) lets the
image stand alone on a slide. Targets are QWidgets (including pyqtgraph's PlotWidget and
GraphicsLayoutWidget) or QGraphicsItems (a pyqtgraph PlotItem), drawn as vectors onto a
scaled painter, so a 2× PNG is sharp rather than enlarged.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QIODevice, QPoint, QRectF, QSize
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QColor,
    QFont,
    QGuiApplication,
    QImage,
    QPainter,
    QPalette,
    QRegion,
    QTextDocument,
)
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QApplication, QGraphicsItem, QGraphicsView, QWidget

from explorer.ui.widgets.export_parts import Caption, Table
from explorer.ui.widgets.typeset import notation_font

IMAGE_FORMATS = ("png", "svg")
TABLE_FORMATS = ("csv", "npy")
CAPTION_POINTS = 13.0  # caption text size at scale 1 (scaled with the picture)
CAPTION_PAD = 10.0


Target = QWidget | QGraphicsItem


def format_of(path: str | os.PathLike, given: str | None = None) -> str:
    """The export format: ``given``, else the file's extension (ValueError if unknown)."""
    fmt = (given or Path(path).suffix.lstrip(".")).lower()
    if fmt not in IMAGE_FORMATS + TABLE_FORMATS:
        known = ", ".join(f".{f}" for f in IMAGE_FORMATS + TABLE_FORMATS)
        raise ValueError(f"{path}: cannot tell the format; use one of {known}")
    return fmt


# -- pictures -------------------------------------------------------------------------------
def target_size(target: Target) -> QSize:
    """The size the target is drawn at, in device-independent pixels."""
    if isinstance(target, QWidget):
        _prepare(target)
        return target.size()
    rect = target.boundingRect()
    return QSize(max(1, math.ceil(rect.width())), max(1, math.ceil(rect.height())))


def _prepare(widget: QWidget) -> None:
    """Lay out a widget that was never shown, so ``render`` draws its real contents."""
    widget.ensurePolished()
    layout = widget.layout()
    if layout is not None and not widget.isVisible():
        layout.activate()


def _caption_font(scale: float, bold: bool) -> QFont:
    font = notation_font(QApplication.font())
    font.setPointSizeF(CAPTION_POINTS * scale)
    font.setBold(bold)
    return font


def _line_document(rich: str, font: QFont, width: float) -> QTextDocument:
    """One caption line, typeset and wrapped to ``width``."""
    doc = QTextDocument()
    doc.setDocumentMargin(0)
    doc.setDefaultFont(font)
    doc.setHtml(rich)
    doc.setTextWidth(width)
    return doc


def caption_height(caption: Caption | None, width: float, scale: float = 1.0) -> int:
    """Pixels the caption band adds under a picture ``width`` pixels wide."""
    lines = caption.html_lines() if caption is not None else []
    if not lines:
        return 0
    pad = CAPTION_PAD * scale
    inner = max(1.0, width - 2 * pad)
    total = sum(_line_document(t, _caption_font(scale, b), inner).size().height()
                for t, b in lines)
    return math.ceil(total + 2 * pad + 2 * scale * (len(lines) - 1))


def _paint_caption(painter: QPainter, rect: QRectF, caption: Caption, scale: float,
                   dark: bool) -> None:
    painter.fillRect(rect, QColor(24, 24, 24) if dark else QColor(245, 245, 245))
    painter.setPen(QColor(90, 90, 90) if dark else QColor(200, 200, 200))
    painter.drawLine(rect.topLeft(), rect.topRight())
    pad = CAPTION_PAD * scale
    y = rect.top() + pad
    inner = max(1.0, rect.width() - 2 * pad)
    context = QAbstractTextDocumentLayout.PaintContext()
    context.palette.setColor(QPalette.ColorRole.Text,
                             QColor(240, 240, 240) if dark else QColor(20, 20, 20))
    for text, bold in caption.html_lines():
        doc = _line_document(text, _caption_font(scale, bold), inner)
        painter.save()
        painter.translate(rect.left() + pad, y)
        doc.documentLayout().draw(painter, context)
        painter.restore()
        y += doc.size().height() + 2 * scale


EXPORT_HIDDEN = "export_hidden"  # a widget property: True leaves the widget out of exports


def _paint_target(target: Target, painter: QPainter, size: QSize) -> None:
    if isinstance(target, QWidget):
        flags = QWidget.RenderFlag.DrawChildren | QWidget.RenderFlag.DrawWindowBackground
        # Hover read-outs ("Hover a cell…") mean nothing on a slide: left out, their
        # place kept so nothing else moves.
        hidden = [w for w in target.findChildren(QWidget)
                  if w.property(EXPORT_HIDDEN) and w.isVisible()]
        for w in hidden:
            policy = w.sizePolicy()
            policy.setRetainSizeWhenHidden(True)
            w.setSizePolicy(policy)
            w.hide()
        try:
            prepare = getattr(target.scene(), "prepareForPaint", None) \
                if isinstance(target, QGraphicsView) else None
            if prepare is not None:  # a pyqtgraph view (its render() is QGraphicsView's)
                prepare()
            QWidget.render(target, painter, QPoint(0, 0), QRegion(target.rect()), flags)
        finally:
            for w in hidden:
                w.show()
        return
    scene = target.scene()
    if scene is None:
        raise ValueError("the item is not in a scene, so there is nothing to draw")
    source = target.sceneBoundingRect()
    scene.render(painter, QRectF(0, 0, size.width(), size.height()), source)


def _background(target: Target) -> QColor:
    widget = target if isinstance(target, QWidget) else None
    if widget is None:
        views = target.scene().views() if target.scene() is not None else []
        widget = views[0] if views else None
    if widget is None:
        return QColor("white")
    return widget.palette().color(widget.backgroundRole())


def render_image(target: Target, scale: float = 1.0, caption: Caption | None = None) -> QImage:
    """The target drawn at ``scale`` (width = size × scale; the caption band adds height)."""
    if not (isinstance(scale, (int, float)) and 0.1 <= scale <= 16):
        raise ValueError(f"scale must be from 0.1 to 16, not {scale!r}")
    size = target_size(target)
    width, height = round(size.width() * scale), round(size.height() * scale)
    band = caption_height(caption, width, scale)
    image = QImage(width, height + band, QImage.Format.Format_ARGB32)
    background = _background(target)
    image.fill(background)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    painter.save()
    painter.scale(scale, scale)
    _paint_target(target, painter, size)
    painter.restore()
    if band:
        _paint_caption(painter, QRectF(0, height, width, band), caption, scale,
                       background.lightness() < 128)
    painter.end()
    return image


def export_png(target: Target, path: str | os.PathLike, scale: float = 1.0,
               caption: Caption | None = None) -> QImage:
    """Write a PNG of the target; returns the image (ValueError naming the file on failure)."""
    image = render_image(target, scale, caption)
    if not image.save(str(path), "PNG"):
        raise ValueError(f"{path}: could not write the PNG (is the folder writable?)")
    return image


def svg_bytes(target: Target, caption: Caption | None = None, title: str = "") -> bytes:
    """The target as an SVG document (text and lines as vectors, images embedded)."""
    size = target_size(target)
    band = caption_height(caption, size.width())
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator()
    generator.setOutputDevice(buffer)
    generator.setSize(QSize(size.width(), size.height() + band))
    generator.setViewBox(QRectF(0, 0, size.width(), size.height() + band))
    generator.setTitle(title or (caption.title if caption is not None else "") or "view")
    generator.setDescription("Transformer Explorer export")
    painter = QPainter(generator)
    background = _background(target)
    painter.fillRect(QRectF(0, 0, size.width(), size.height() + band), background)
    _paint_target(target, painter, size)
    if band:
        _paint_caption(painter, QRectF(0, size.height(), size.width(), band), caption, 1.0,
                       background.lightness() < 128)
    painter.end()
    buffer.close()
    return bytes(buffer.data().data())


def export_svg(target: Target, path: str | os.PathLike, caption: Caption | None = None) -> None:
    """Write an SVG of the target (ValueError naming the file on failure)."""
    data = svg_bytes(target, caption)
    try:
        Path(path).write_bytes(data)
    except OSError as exc:
        raise ValueError(f"{path}: could not write the SVG ({exc.strerror})") from None


def export_image(target: Target, path: str | os.PathLike, scale: float = 1.0,
                 caption: Caption | None = None, fmt: str | None = None) -> None:
    """PNG or SVG by ``fmt`` or the file's extension."""
    fmt = format_of(path, fmt)
    if fmt == "png":
        export_png(target, path, scale, caption)
    elif fmt == "svg":
        export_svg(target, path, caption)
    else:
        raise ValueError(f"{path}: .{fmt} holds numbers, not a picture; use .png or .svg")


def copy_image(target: Target, scale: float = 1.0, caption: Caption | None = None) -> QImage:
    """Put the picture on the clipboard (to paste into slides); returns it."""
    image = render_image(target, scale, caption)
    QGuiApplication.clipboard().setImage(image)
    return image


# -- numbers --------------------------------------------------------------------------------
def _headers(labels: Sequence[str] | None, n: int, dim: str) -> list[str]:
    if labels is not None and len(labels) == n:
        return [f"{i + 1}:{label}" for i, label in enumerate(labels)]
    return [f"{dim} {i + 1}" for i in range(n)]


def table_rows(table: Table) -> list[list[str]]:
    """The CSV cells: a header of column labels, then one labelled row per matrix row."""
    values = np.asarray(table.values)
    if values.ndim == 1:
        values = values[None, :]
    if values.ndim != 2:
        raise ValueError(f"CSV holds a matrix, and this tensor has {values.ndim} dimensions "
                         "(shape " + " × ".join(map(str, values.shape)) + "); use .npy")
    rows, cols = values.shape
    corner = f"{table.row_dim} \\ {table.col_dim}"
    out = [[corner, *_headers(table.col_labels, cols, table.col_dim)]]
    for i, name in enumerate(_headers(table.row_labels, rows, table.row_dim)):
        out.append([name, *(format(float(v), ".9g") for v in values[i])])
    return out


def export_csv(table: Table, path: str | os.PathLike) -> None:
    try:
        with open(path, "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(table_rows(table))
    except OSError as exc:
        raise ValueError(f"{path}: could not write the CSV ({exc.strerror})") from None


def export_npy(values: np.ndarray, path: str | os.PathLike) -> None:
    """``np.save`` to exactly ``path`` (no extra extension)."""
    try:
        with open(path, "wb") as handle:
            np.save(handle, np.asarray(values), allow_pickle=False)
    except OSError as exc:
        raise ValueError(f"{path}: could not write the .npy ({exc.strerror})") from None


def export_table(table: Table, path: str | os.PathLike, fmt: str | None = None) -> None:
    """CSV or NPY by ``fmt`` or the file's extension."""
    fmt = format_of(path, fmt)
    if fmt == "csv":
        export_csv(table, path)
    elif fmt == "npy":
        export_npy(table.values, path)
    else:
        raise ValueError(f"{path}: .{fmt} is a picture; the numbers go to .csv or .npy")


def export_curves_csv(series: dict[str, tuple[np.ndarray, np.ndarray]],
                      path: str | os.PathLike) -> None:
    """Long format: one line per point, ``series,x,y``."""
    try:
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["series", "step", "value"])
            for name, (xs, ys) in series.items():
                for x, y in zip(xs, ys):
                    writer.writerow([name, format(float(x), ".9g"), format(float(y), ".9g")])
    except OSError as exc:
        raise ValueError(f"{path}: could not write the CSV ({exc.strerror})") from None
