"""Thumbnails of every attention head of every layer; click one to open it.

Public API: ``HeadGridWidget(parent=None)`` (a QWidget painted with QPainter).

- ``set_trace(trace, batch=0)``: one section per kind of attention (``attention_sections``):
  "self-attention" for decoder-only and encoder-only models; "encoder self-attention",
  "decoder self-attention" and "decoder cross-attention" for the encoder-decoder. In each
  section rows are layers and columns are heads; each thumbnail is the head's pattern in the
  paper's orientation (keys down, queries across), masked cells flat grey.
- ``clear()``.
- ``set_selected(prefix, head)``: highlight one thumbnail without emitting (``prefix`` like
  ``"blocks.1.attn"`` or ``"decoder.blocks.0.cross_attn"``); ``selected`` -> (prefix, head) or
  None.
- Signal ``head_selected(str prefix, int layer, int head)`` (layer and head 0-based) when a
  thumbnail is clicked (or chosen with the keyboard: arrows move, Enter/Space opens).
- Signal ``context_requested(str prefix, int layer, int head, QPoint global_pos)`` on a
  right click on a thumbnail, and ``ablate_requested(str prefix, int layer, int head)`` on
  the X key (the selected head): the Attention tab offers interventions for it.
- ``set_marks({(prefix, head): text})``: heads with an active intervention get a red cross
  and ``text`` in their tooltip.
- ``section_titles() -> list[str]``; ``thumbnail_rect(prefix, head) -> QRectF`` (widget
  coordinates; for tests); ``thumbnail_at(point) -> (prefix, layer, head) | None``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetricsF, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from explorer.state.attention_data import (
    AttentionSite,
    attention_sections,
    thumbnail_weights,
)
from explorer.ui.widgets.actions import ABLATE_KEY
from explorer.ui.widgets.style import (
    MUTED_COLOR,
    SELECTION_COLOR,
    TEXT_COLOR,
    probs_to_rgba,
    scaled_font,
)

GAP = 4  # pixels between thumbnails
MARK_COLOR = QColor(200, 30, 30)  # the cross over a head an intervention acts on
SECTION_GAP = 28
MAX_THUMB = 120
MIN_THUMB = 14
THUMB_CELLS = 64  # a thumbnail of a long text pools positions into at most this many cells




@dataclass
class _Section:
    title: str
    sites: list[AttentionSite]
    images: list[list[QImage]] = field(default_factory=list)  # [layer][head]

    @property
    def n_heads(self) -> int:
        return max((len(row) for row in self.images), default=0)


def _qimage(rgba: np.ndarray) -> QImage:
    rgba = np.ascontiguousarray(rgba)
    h, w = rgba.shape[:2]
    return QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()


class HeadGridWidget(QWidget):
    """All heads of all layers as clickable thumbnails, grouped by kind of attention."""

    head_selected = Signal(str, int, int)
    context_requested = Signal(str, int, int, QPoint)
    ablate_requested = Signal(str, int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._sections: list[_Section] = []
        self._cells: list[tuple[QRectF, str, int, int]] = []
        self._labels: list[tuple[QRectF, str, bool]] = []  # rect, text, is a section title
        self.selected: tuple[str, int] | None = None
        self._hover: tuple[str, int] | None = None
        self.marks: dict[tuple[str, int], str] = {}  # heads with an intervention
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip("Every head of every layer: click a thumbnail to open that head.")

    # data ---------------------------------------------------------------------------------
    def set_trace(self, trace, batch: int = 0) -> None:
        sections = []
        for title, sites in attention_sections(trace):
            section = _Section(title, sites)
            for site in sites:
                rgba = probs_to_rgba(*thumbnail_weights(trace, site.prefix, batch,
                                                        THUMB_CELLS))
                section.images.append([_qimage(rgba[h]) for h in range(rgba.shape[0])])
            sections.append(section)
        self._sections = sections
        self._layout()
        if self.selected is not None and self._find(*self.selected) is None:
            self.selected = None
        self.update()

    def clear(self) -> None:
        self._sections = []
        self.selected = None
        self._layout()
        self.update()

    def section_titles(self) -> list[str]:
        return [s.title for s in self._sections]

    def set_marks(self, marks: dict[tuple[str, int], str]) -> None:
        """Cross out the heads an intervention acts on (``text`` says which)."""
        if marks != self.marks:
            self.marks = dict(marks)
            self.update()

    def set_selected(self, prefix: str, head: int) -> None:
        self.selected = (prefix, head)
        self.update()

    def _find(self, prefix: str, head: int) -> QRectF | None:
        for rect, p, _, h in self._cells:
            if p == prefix and h == head:
                return rect
        return None

    def thumbnail_rect(self, prefix: str, head: int) -> QRectF:
        rect = self._find(prefix, head)
        if rect is None:
            raise KeyError(f"no thumbnail for {prefix!r} head {head}")
        return QRectF(rect)

    def thumbnail_at(self, point: QPointF) -> tuple[str, int, int] | None:
        for rect, prefix, layer, head in self._cells:
            if rect.adjusted(-GAP / 2, -GAP / 2, GAP / 2, GAP / 2).contains(point):
                return prefix, layer, head
        return None

    # geometry -----------------------------------------------------------------------------
    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(640, 300)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(200, 120)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._layout()

    def _text_sizes(self) -> tuple[float, float, float]:
        title_h = self.fontMetrics().height() * 1.5
        label_w = self.fontMetrics().horizontalAdvance("L12") + 10
        label_h = self.fontMetrics().height() + 2
        return title_h, label_w, label_h

    def _fit(self, horizontal: bool) -> float:
        """The thumbnail size that fits every section, side by side or stacked."""
        title_h, label_w, label_h = self._text_sizes()
        w, h = self.width() - 8, self.height() - 8
        if horizontal:
            cols = sum(s.n_heads for s in self._sections)
            rows = max(len(s.sites) for s in self._sections)
            fixed_w = len(self._sections) * (label_w + SECTION_GAP) + cols * GAP
            # side by side, a title longer than its section is elided (full in the tooltip)
            return min((w - fixed_w) / max(cols, 1), (h - title_h - label_h - rows * GAP) / rows)
        else:
            cols = max(s.n_heads for s in self._sections)
            rows = sum(len(s.sites) for s in self._sections)
            n = len(self._sections)
            fixed_h = n * (title_h + label_h + SECTION_GAP) + rows * GAP
            return min((w - label_w - cols * GAP) / max(cols, 1), (h - fixed_h) / max(rows, 1))

    def _layout(self) -> None:
        self._cells, self._labels = [], []
        if not self._sections:
            return
        horizontal = self._fit(True) >= self._fit(False)
        size = float(np.clip(max(self._fit(True), self._fit(False)), MIN_THUMB, MAX_THUMB))
        title_h, label_w, label_h = self._text_sizes()
        x0, y0 = 4.0, 4.0
        title_metrics = QFontMetricsF(scaled_font(self, 1.2, bold=True))
        for section in self._sections:
            top = y0 + title_h + label_h
            left = x0 + label_w
            step = size + GAP
            title = section.title
            if horizontal:
                room = left + section.n_heads * step - x0
                title = title_metrics.elidedText(title, Qt.TextElideMode.ElideRight, room)
            self._labels.append((QRectF(x0, y0, 2000, title_h), title, True))
            every = max(1, int(np.ceil(label_h * 1.6 / step)))
            for head in range(section.n_heads):
                if head % every == 0:
                    self._labels.append((QRectF(left + head * step, top - label_h, size, label_h),
                                         f"H{head + 1}", False))
            for row, site in enumerate(section.sites):
                y = top + row * step
                self._labels.append((QRectF(x0, y, label_w - 6, size), f"L{site.layer + 1}",
                                     False))
                for head in range(len(section.images[row])):
                    rect = QRectF(left + head * step, y, size, size)
                    self._cells.append((rect, site.prefix, site.layer, head))
            if horizontal:
                x0 = left + section.n_heads * step + SECTION_GAP
            else:
                y0 = top + len(section.sites) * step + SECTION_GAP

    # painting -----------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(255, 255, 255))
        if not self._sections:
            painter.setPen(MUTED_COLOR)
            painter.setFont(scaled_font(self, 1.1))
            painter.drawText(self.rect(), int(Qt.AlignmentFlag.AlignCenter),
                             "No attention heads to show yet.")
            return
        title_font = scaled_font(self, 1.2, bold=True)
        label_font = scaled_font(self, 0.95)
        for rect, text, is_title in self._labels:
            painter.setFont(title_font if is_title else label_font)
            painter.setPen(TEXT_COLOR if is_title else MUTED_COLOR)
            align = (Qt.AlignmentFlag.AlignLeft if is_title else
                     Qt.AlignmentFlag.AlignRight if text.startswith("L") else
                     Qt.AlignmentFlag.AlignHCenter)
            painter.drawText(rect, int(align | Qt.AlignmentFlag.AlignVCenter), text)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        images = {(s.sites[r].prefix, h): img for s in self._sections
                  for r, row in enumerate(s.images) for h, img in enumerate(row)}
        for rect, prefix, _, head in self._cells:
            painter.drawImage(rect, images[(prefix, head)])
            painter.setPen(QPen(QColor(160, 160, 160), 1))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(rect)
        if self._hover is not None and (rect := self._find(*self._hover)) is not None:
            painter.setPen(QPen(QColor(60, 60, 60), 2))
            painter.drawRect(rect.adjusted(-1, -1, 1, 1))
        painter.setPen(QPen(MARK_COLOR, 3))
        for key in self.marks:
            if (rect := self._find(*key)) is not None:
                painter.drawLine(rect.topLeft(), rect.bottomRight())
                painter.drawLine(rect.topRight(), rect.bottomLeft())
        if self.selected is not None and (rect := self._find(*self.selected)) is not None:
            painter.setPen(QPen(SELECTION_COLOR, 4))
            painter.drawRect(rect.adjusted(-2, -2, 2, 2))

    # interaction --------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:  # noqa: N802
        hit = self.thumbnail_at(event.position())
        if hit is not None and event.button() == Qt.MouseButton.RightButton:
            self._choose(*hit)
            self.context_requested.emit(*hit, event.globalPosition().toPoint())
            return
        if hit is None or event.button() != Qt.MouseButton.LeftButton:
            super().mousePressEvent(event)
            return
        self._choose(*hit)

    def _choose(self, prefix: str, layer: int, head: int) -> None:
        self.selected = (prefix, head)
        self.update()
        self.head_selected.emit(prefix, layer, head)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        hit = self.thumbnail_at(event.position())
        hover = None if hit is None else (hit[0], hit[2])
        if hover != self._hover:
            self._hover = hover
            self.update()
            if hit is not None:
                site = AttentionSite.parse(hit[0])
                mark = self.marks.get((hit[0], hit[2]))
                QToolTip.showText(event.globalPosition().toPoint(),
                                  f"{site.title(hit[2])}\nclick to open, right-click to "
                                  "intervene (X ablates)" + (f"\n{mark}" if mark else ""),
                                  self)
        super().mouseMoveEvent(event)

    def leaveEvent(self, event) -> None:  # noqa: N802
        self._hover = None
        self.update()
        super().leaveEvent(event)

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if not self._cells:
            super().keyPressEvent(event)
            return
        keys = {Qt.Key.Key_Left: (0, -1), Qt.Key.Key_Right: (0, 1),
                Qt.Key.Key_Up: (-1, 0), Qt.Key.Key_Down: (1, 0)}
        order = [(p, h) for _, p, _, h in self._cells]
        current = order.index(self.selected) if self.selected in order else 0
        prefix, head = order[current]
        if event.key() in keys:
            drow, dhead = keys[event.key()]
            target = self._neighbour(prefix, head, drow, dhead)
            if target is not None:
                self._choose(*target)
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            self._choose(prefix, AttentionSite.parse(prefix).layer, head)
            return
        if event.key() == ABLATE_KEY:
            self.ablate_requested.emit(prefix, AttentionSite.parse(prefix).layer, head)
            return
        super().keyPressEvent(event)

    def _neighbour(self, prefix: str, head: int, drow: int,
                   dhead: int) -> tuple[str, int, int] | None:
        for section in self._sections:
            prefixes = [s.prefix for s in section.sites]
            if prefix not in prefixes:
                continue
            row = int(np.clip(prefixes.index(prefix) + drow, 0, len(prefixes) - 1))
            new_head = int(np.clip(head + dhead, 0, len(section.images[row]) - 1))
            site = section.sites[row]
            return site.prefix, site.layer, new_head
        return None
