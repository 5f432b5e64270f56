"""A compact diagram of the architecture: embedding, each layer's norms, attention and MLP on
the residual stream, final norm and unembedding. The box holding the current step is
highlighted; clicking a box jumps to its first step. Built from ``trace.steps``, so pre- and
post-norm models draw their norms where they run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from explorer.ui.widgets import theme
from explorer.ui.widgets.typeset import draw_typeset

COLOURS = {
    "embed": QColor(222, 235, 247), "norm": QColor(240, 240, 240), "attn": QColor(253, 224, 221),
    "cross": QColor(252, 197, 192), "mlp": QColor(229, 245, 224), "final": QColor(240, 240, 240),
    "output": QColor(239, 237, 245),
}


SHORT = {"Masked self-attn": "Attn", "Self-attn": "Attn", "Cross-attn": "Cross",
         "Norm": "N", "Unembed softmax(W_u X)": "Unembed", "Embedding W_e + W_p": "Embed"}


def component(name: str, arch: str) -> tuple[str, str, str]:
    """(row key, box key, label) of a step name inside its stack."""
    rest = name.split(".", 1)[1] if name.startswith(("encoder.", "decoder.")) else name
    stack = name.split(".", 1)[0] if rest != name else ""
    if rest.startswith("embed."):
        return "embed", "embed", "Embedding W_e + W_p"
    if rest.startswith("blocks."):
        _, layer, part = rest.split(".", 2)
        row = f"layer{layer}"
        head = part.split(".")[0]
        if head in ("attn_norm", "cross_norm", "mlp_norm"):
            return row, head, "Norm"
        if head in ("attn", "resid_attn"):
            causal = arch == "decoder" or stack == "decoder"
            return row, "attn", "Masked self-attn" if causal else "Self-attn"
        if head in ("cross_attn", "resid_cross"):
            return row, "cross", "Cross-attn"
        return row, "mlp", "MLP"
    if rest == "final_norm":
        return "final", "final_norm", "Final norm"
    if rest.startswith("head."):
        return "final", "head", "Head W_f, norm"
    if rest.startswith("class_"):
        return "output", "class", "Class head P(c | x)"
    return "output", "unembed", "Unembed softmax(W_u X)"


@dataclass
class Box:
    label: str
    kind: str
    column: int
    row: int
    slot: int
    steps: list[int] = field(default_factory=list)
    rect: QRectF = field(default_factory=QRectF)


class OverviewWidget(QWidget):
    """The architecture diagram; emits ``step_selected(index)`` when a box is clicked and
    ``context_requested(index, global_pos)`` (the box's first step) on a right click."""

    step_selected = Signal(int)
    context_requested = Signal(int, QPoint)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.boxes: list[Box] = []
        self.columns: list[str] = []
        self.rows_per_column: list[int] = []
        self.row_labels: dict[tuple[int, int], str] = {}
        self.current = 0
        self._names: tuple[str, ...] = ()
        self.setMouseTracking(True)
        self.setMinimumSize(240, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip("The architecture at a glance; the highlighted box holds the current "
                        "step. Click a box to jump to it.")

    def set_steps(self, steps: Sequence, arch: str) -> None:
        names = tuple(s.name for s in steps)
        if names == self._names:
            return
        self._names = names
        self.boxes, self.columns, self.row_labels = [], [], {}
        rows: dict[tuple[int, str], int] = {}
        by_key: dict[tuple, Box] = {}
        for i, step in enumerate(steps):
            stack = step.stack or ("decoder" if arch == "encoder-decoder" else "")
            if stack not in self.columns:
                self.columns.append(stack)
            col = self.columns.index(stack)
            row_key, box_key, label = component(step.name, arch)
            row = rows.setdefault((col, row_key), sum(1 for c, _ in rows if c == col))
            if step.layer is not None:
                self.row_labels[(col, row)] = f"L{step.layer + 1}"
            key = (col, row_key, box_key)
            if key not in by_key:
                slot = sum(1 for b in self.boxes if b.column == col and b.row == row)
                kind = "norm" if box_key.endswith("_norm") else box_key
                by_key[key] = Box(label, kind, col, row, slot)
                self.boxes.append(by_key[key])
            by_key[key].steps.append(i)
        self.rows_per_column = [sum(1 for c, _ in rows if c == col)
                                for col in range(len(self.columns))]
        self._layout()
        self.update()

    def set_current(self, index: int) -> None:
        if index != self.current:
            self.current = index
            self.update()

    def current_box(self) -> Box | None:
        return next((b for b in self.boxes if self.current in b.steps), None)

    # -- geometry and painting -----------------------------------------------------------
    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        self._layout()
        super().resizeEvent(event)

    def _layout(self) -> None:
        if not self.boxes:
            return
        margin, gap = 8.0, 6.0
        n_cols = len(self.columns)
        label_w = self.fontMetrics().horizontalAdvance("L00") + 4
        col_w = (self.width() - margin * (n_cols + 1)) / n_cols - label_w
        top = margin + (self.fontMetrics().height() + 4 if n_cols > 1 else 0)
        for box in self.boxes:
            n_rows = self.rows_per_column[box.column]
            row_h = (self.height() - top - margin) / n_rows
            in_row = [b for b in self.boxes if b.column == box.column and b.row == box.row]
            weights = [0.8 if b.kind == "norm" else 2.2 for b in in_row]
            x0 = margin + box.column * (col_w + label_w + margin) + label_w
            scale = (col_w - gap * (len(in_row) - 1)) / sum(weights)
            x = x0 + sum(w * scale + gap for w in weights[: box.slot])
            box.rect = QRectF(x, top + box.row * row_h + gap / 2,
                              weights[box.slot] * scale, row_h - gap)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), Qt.GlobalColor.white)
        font = QFont(self.font())
        painter.setFont(font)
        margin = 8.0
        n_cols = max(1, len(self.columns))
        col_w = (self.width() - margin * (n_cols + 1)) / n_cols
        for col, stack in enumerate(self.columns):
            x0 = margin + col * (col_w + margin)
            if n_cols > 1:
                painter.setPen(theme.MUTED)
                painter.drawText(QRectF(x0, 2, col_w, self.fontMetrics().height() + 2),
                                 Qt.AlignmentFlag.AlignCenter, stack.capitalize())
            painter.setPen(QPen(QColor(160, 160, 160), 3))
            mid = x0 + col_w / 2
            painter.drawLine(QPointF(mid, margin), QPointF(mid, self.height() - margin))
        painter.setPen(theme.MUTED)
        label_w = self.fontMetrics().horizontalAdvance("L00") + 4
        for box in self.boxes:
            text = self.row_labels.get((box.column, box.row))
            if text and box.slot == 0:
                r = QRectF(box.rect.left() - label_w, box.rect.top(), label_w - 2,
                           box.rect.height())
                painter.drawText(r, Qt.AlignmentFlag.AlignCenter, text)
        current = self.current_box()
        for box in self.boxes:
            on = box is current
            painter.setBrush(theme.HIGHLIGHT if on else COLOURS.get(box.kind, Qt.white))
            painter.setPen(QPen(theme.ACCENT if on else QColor(90, 90, 90), 3 if on else 1))
            painter.drawRoundedRect(box.rect, 5, 5)
            font.setBold(on)
            painter.setFont(font)
            painter.setPen(Qt.GlobalColor.black)
            label = self._fitting_label(box, painter.fontMetrics())
            small = QFont(font)
            while not label and small.pointSizeF() > 7:  # a narrow box: smaller type, not none
                small.setPointSizeF(max(7.0, small.pointSizeF() * 0.85))
                painter.setFont(small)
                label = self._fitting_label(box, painter.fontMetrics())
            inner = box.rect.adjusted(3, 1, -3, -1)
            if "_" in label or "^" in label:  # "Embedding W_e + W_p": the paper's symbols
                draw_typeset(painter, inner, label, painter.font())
            else:  # "N", "Attn", "MLP": names, not variables
                painter.drawText(inner, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                                 label)
        painter.end()

    @staticmethod
    def _fitting_label(box: Box, metrics) -> str:
        """The full label if it fits on two lines of the box, else a shorter one."""
        width = box.rect.width() - 8
        lines = max(1, int(box.rect.height() // metrics.lineSpacing()))
        if metrics.horizontalAdvance(box.label) <= width * min(lines, 2) and \
                all(metrics.horizontalAdvance(w) <= width for w in box.label.split()):
            return box.label
        short = SHORT.get(box.label, box.label.split()[0])
        return short if metrics.horizontalAdvance(short) <= width else ""

    # -- mouse ---------------------------------------------------------------------------
    def box_at(self, pos: QPointF) -> Box | None:
        return next((b for b in self.boxes if b.rect.contains(pos)), None)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        box = self.box_at(event.position())
        if box is not None and event.button() == Qt.MouseButton.LeftButton:
            self.step_selected.emit(box.steps[0])
        elif box is not None and event.button() == Qt.MouseButton.RightButton:
            self.context_requested.emit(box.steps[0], event.globalPosition().toPoint())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        box = self.box_at(event.position())
        if box is not None:
            QToolTip.showText(event.globalPosition().toPoint(),
                              f"{box.label}: {len(box.steps)} steps (click to jump)", self)
