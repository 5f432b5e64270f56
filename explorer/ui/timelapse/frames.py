"""The Time-lapse's frames: computed on the worker thread (``compute_frame``), painted in the
tab (``FrameCanvas``) and drawn for export (``frame_images``), all with ``paint.paint_frame``."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRectF
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from explorer.state.timelapse import Frame
from explorer.ui.timelapse.paint import frame_image, paint_frame


def compute_frame(request: tuple) -> tuple:
    """(key, Frame) or (key, error message): runs on the worker thread."""
    key, run, snapshot, text, layer, head = request
    try:
        return key, run.frame(snapshot, text, layer, head)
    except (ValueError, KeyError, OSError, RuntimeError) as exc:
        return key, str(exc)


class FrameCanvas(QWidget):
    """Paints the current frame with ``paint_frame`` (the same drawing as the export)."""

    def __init__(self, owner: Any) -> None:
        super().__init__()
        self.owner = owner
        self.setMinimumSize(400, 220)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt)
        o = self.owner
        painter = QPainter(self)
        try:
            paint_frame(painter, QRectF(self.rect()), o.frame, o.view_name, o.curve_steps,
                        o.curve_losses, o.total_steps, o.message)
        finally:
            painter.end()


def frame_images(view: Any, width: int = 1280, height: int = 720) -> list:
    """Every snapshot of ``view``'s run (a ``TimeLapseView``) as a QImage, at its head and
    text, computed here in order (the frames it has already computed are reused)."""
    run = view.run
    if run is None or not run.snapshots:
        raise ValueError("no snapshots to export: open a run with snapshots first")
    layer, head = view.layer_spin.value() - 1, view.head_spin.value() - 1
    images = []
    for i, snap in enumerate(run.snapshots):
        key = view.frame_key(i)
        value = view.frame_cache.get(key)
        if value is None:
            _key, value = compute_frame((key, run, snap, view.text, layer, head))
            view.frame_cache[key] = value
        if isinstance(value, Frame):
            value.loss = run.loss_at(value.step)
            images.append(frame_image(value, view.view_name, run.steps, run.losses,
                                      view.total_steps, width, height))
        else:
            images.append(frame_image(None, view.view_name, run.steps, run.losses,
                                      view.total_steps, width, height, message=value))
    return images
