"""Render the application icon's PNG sizes from its SVG with Qt's SVG renderer.

Usage (from the repository root)::

    python packaging/render_icons.py            # writes resources/icons/transformer-explorer-N.png
    python packaging/render_icons.py --check    # exits 1 if a PNG is missing or out of date

Uses ``PySide6.QtSvg.QSvgRenderer`` (part of PySide6-Essentials) on an offscreen platform, so it
needs no display.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QRectF, Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage, QPainter  # noqa: E402
from PySide6.QtSvg import QSvgRenderer  # noqa: E402

ICON_NAME = "transformer-explorer"
SIZES = (16, 32, 48, 64, 128, 256, 512)
ICON_DIR = Path(__file__).resolve().parent.parent / "resources" / "icons"


def render(svg: Path, size: int) -> QImage:
    """Rasterise ``svg`` to a square, transparent ``size`` x ``size`` ARGB image."""
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"{svg} is not a valid SVG file")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return image.convertToFormat(QImage.Format.Format_ARGB32)


def png_path(icon_dir: Path, size: int) -> Path:
    """Where the ``size`` px PNG lives: ``<icon_dir>/transformer-explorer-<size>.png``."""
    return icon_dir / f"{ICON_NAME}-{size}.png"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--icon-dir", type=Path, default=ICON_DIR)
    parser.add_argument("--check", action="store_true", help="only compare with the PNGs on disk")
    args = parser.parse_args(argv)
    _app = QGuiApplication.instance() or QGuiApplication([])
    svg = args.icon_dir / f"{ICON_NAME}.svg"
    stale = []
    for size in SIZES:
        image = render(svg, size)
        target = png_path(args.icon_dir, size)
        if args.check:
            if (
                not target.exists()
                or QImage(str(target)).convertToFormat(QImage.Format.Format_ARGB32) != image
            ):
                stale.append(target.name)
            continue
        if not image.save(str(target), "PNG"):
            raise OSError(f"could not write {target}")
        print(f"wrote {target} ({size} x {size})")
    if stale:
        print("out of date: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
