"""Exporting a time-lapse for slides: numbered PNG frames (Qt alone) or an animated GIF.

Qt has no GIF writer, so the GIF goes through Pillow (the maintained imaging library
made for it); PNG frames need nothing beyond Qt.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtGui import QImage

FRAME_MS = 500  # each snapshot half a second in the GIF


def export_png_frames(images: Sequence[QImage], folder: str | Path) -> list[Path]:
    """``folder/frame-001.png`` … one per snapshot, in order; ValueError if not written."""
    out = Path(folder)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"{out}: cannot make the folder ({exc.strerror})") from None
    paths = []
    for i, image in enumerate(images, 1):
        path = out / f"frame-{i:03d}.png"
        if not image.save(str(path), "PNG"):
            raise ValueError(f"{path}: cannot write the frame")
        paths.append(path)
    return paths


def _pil(image: QImage):
    from PIL import Image

    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    data = bytes(rgb.constBits())
    return Image.frombuffer("RGB", (rgb.width(), rgb.height()), data, "raw", "RGB",
                            rgb.bytesPerLine(), 1)


def export_gif(images: Sequence[QImage], path: str | Path, frame_ms: int = FRAME_MS) -> Path:
    """An animated GIF that loops, ``frame_ms`` per frame (the last one held 3×)."""
    try:
        import PIL  # noqa: F401
    except ImportError:
        raise ValueError("writing a GIF needs Pillow (pip install pillow); export PNG frames "
                         "instead") from None
    if not images:
        raise ValueError("no frames to export: the run has no snapshots")
    frames = [_pil(img).quantize(colors=255) for img in images]
    durations = [frame_ms] * len(frames)
    durations[-1] = frame_ms * 3
    path = Path(path)
    try:
        frames[0].save(path, format="GIF", save_all=True, append_images=frames[1:],
                       duration=durations, loop=0, optimize=False)
    except OSError as exc:
        raise ValueError(f"{path}: cannot write the GIF ({exc})") from None
    return path
