"""The paper beside the numbers: the architecture's algorithm (8, 9 or 10) with the executing
line highlighted and, for a step inside attention, a norm or an embedding, that algorithm
too. Clicking a numbered line asks to jump to the first step that executes it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from explorer.ui.widgets import theme
from explorer.ui.widgets.typeset import (
    TypesetDelegate,
    escape,
    notation_font,
    set_typeset,
    typeset,
    typeset_tip,
)

if TYPE_CHECKING:
    from explorer.trace import Step

VARIANT_BG = QColor(219, 234, 254)  # a variant the paper names (RMSnorm, post-norm, …)
EXTENSION_BG = QColor(237, 224, 255)  # not in the paper (rotary, SwiGLU, grouped-query)
LINE_ROLE = Qt.ItemDataRole.UserRole


def _algorithms() -> dict:
    """The paper's pseudocode (imported on first use: ``explorer.trace`` loads torch)."""
    from explorer.trace import ALGORITHMS

    return ALGORITHMS
NORM_ALGORITHM = 6
NORM_RESULT_LINE = 3


def algorithms_for(step: Step) -> tuple[tuple[int, int], tuple[int, int] | None]:
    """((architecture algorithm, line), (sub-algorithm, line) or None) for a step."""
    if step.outer is not None and step.outer[0] != step.algorithm:
        return step.outer, (step.algorithm, step.line)
    if step.name.endswith("_norm") or step.name.endswith("head.norm") or \
            step.name.endswith("embed.norm"):
        return (step.algorithm, step.line), (NORM_ALGORITHM, NORM_RESULT_LINE)
    return (step.algorithm, step.line), None


class AlgorithmView(QWidget):
    """One algorithm: a caption, its unnumbered header and its numbered lines."""

    line_clicked = Signal(int, int)  # algorithm, 1-based line

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.number: int | None = None
        self._captioned: tuple[int, str] | None = None  # what the caption shows
        self.notes: dict = {}  # (algorithm, line) -> LineNote for this model
        self.caption = QLabel()
        self.caption.setFont(theme.title_font(scale=1.1))
        self.caption.setWordWrap(True)
        self.lines = QListWidget()
        self.lines.setFont(notation_font(self.font()))
        self.lines.setItemDelegate(TypesetDelegate(self.lines, QColor("black")))
        self.lines.setWordWrap(True)
        # typeset rows are measured at the list's width: lay them out again when it changes
        self.lines.setResizeMode(QListView.ResizeMode.Adjust)
        self.lines.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.lines.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        colour = theme.HIGHLIGHT.name()
        self.lines.setStyleSheet(
            f"QListWidget::item:selected {{ background: {colour}; color: black; }}")
        self.lines.setToolTip("The paper's pseudocode; the highlighted line is executing. "
                              "Click a numbered line to jump to the step that runs it.")
        self.lines.itemClicked.connect(self._on_item_clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.lines, 1)

    def show_algorithm(self, number: int, line: int, where: str = "") -> None:
        if number != self.number:
            self._fill(number)
        if (number, where) != self._captioned:  # each keystroke shows the same step again
            self._captioned = (number, where)
            alg = _algorithms()[number]
            suffix = f" — {where}" if where else ""
            set_typeset(self.caption, f"{alg.title}{suffix}")
            self.caption.setToolTip(typeset_tip("\n".join(alg.header)).replace("\n", "<br>"))
        self.highlight(line)

    def _fill(self, number: int) -> None:
        self.number = number
        self._captioned = None
        self.lines.clear()
        alg = _algorithms()[number]
        for i, text in enumerate(alg.lines, start=1):
            note = self.notes.get((number, i))
            if note is None:
                item = QListWidgetItem(f"{i:>2}  {text}")
                item.setToolTip(typeset_tip(text))
            else:  # this model computes the line differently: its own line, marked
                item = QListWidgetItem(f"{i:>2}  {note.text}   ◆ {note.label}")
                item.setBackground(EXTENSION_BG if note.extension else VARIANT_BG)
                item.setToolTip(f"<qt><b>{escape(note.label)}</b><br>this model: "
                                f"{typeset(note.text)}<br>the paper: {typeset(text)}</qt>")
            item.setData(LINE_ROLE, i)
            self.lines.addItem(item)

    def set_notes(self, notes: dict) -> None:
        """The lines this model computes differently (``pseudocode.differences``)."""
        if notes != self.notes:
            self.notes = dict(notes)
            self.number = None  # refill at the next show

    def highlight(self, line: int) -> None:
        """Select numbered ``line`` (1-based)."""
        row = line - 1
        if 0 <= row < self.lines.count() and row != self.lines.currentRow():
            self.lines.setCurrentRow(row)
            self.lines.scrollToItem(self.lines.item(row),
                                    QAbstractItemView.ScrollHint.EnsureVisible)

    def current_line(self) -> int | None:
        item = self.lines.currentItem()
        return item.data(LINE_ROLE) if item is not None else None

    def _on_item_clicked(self, item: QListWidgetItem) -> None:
        line = item.data(LINE_ROLE)
        if line is not None and self.number is not None:
            self.line_clicked.emit(self.number, int(line))


class PseudocodeWidget(QWidget):
    """The architecture algorithm above, the sub-algorithm of the current step below."""

    line_clicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.outer = AlgorithmView()
        self.inner = AlgorithmView()
        self.outer.line_clicked.connect(self.line_clicked.emit)
        self.inner.line_clicked.connect(self.line_clicked.emit)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.outer, 3)
        layout.addWidget(self.inner, 2)
        self.inner.hide()
        highlight = QColor(theme.HIGHLIGHT)
        self.setToolTip(f"Highlighted ({highlight.name()}): the line being executed")

    def set_model_config(self, cfg) -> None:
        """Mark the lines ``cfg`` computes differently from the paper: a variant the paper
        names (blue) or an extension it does not have (violet, "not in the paper: …")."""
        from explorer.trace.pseudocode import differences

        notes = differences(cfg)
        self.outer.set_notes(notes)
        self.inner.set_notes(notes)

    def show_step(self, step: Step, n_layers: int | None = None) -> None:
        (alg, line), sub = algorithms_for(step)
        where = ""
        if step.layer is not None:
            stack = f"{step.stack} " if step.stack else ""
            total = f" of {n_layers}" if n_layers else ""
            where = f"{stack}layer {step.layer + 1}{total}"
        self.outer.show_algorithm(alg, line, where)
        self.inner.setVisible(sub is not None)
        if sub is not None:
            self.inner.show_algorithm(*sub)
