"""The pseudocode diff: the algorithms of the side-by-side's models in columns, one row per
line of the side-by-side (``explorer.state.pseudocode_diff``). Rows where the algorithms
differ are tinted; the row the columns show now is outlined; a model's variant or
extension of a line is in italics, with what it is as a tooltip."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from explorer.ui.widgets import theme
from explorer.ui.widgets.typeset import escape, set_typeset

DIFFERS = "#ffe0b2"  # a row where the algorithms differ
SAME = "#f4f4f4"
CURRENT = "#c62828"  # the outline of the row shown now
NAMES = {10: "Algorithm 10 · decoder-only", 9: "Algorithm 9 · encoder-only",
         8: "Algorithm 8 · encoder–decoder"}


class PseudocodeDiffWidget(QWidget):
    """``show_diff(rows, algorithms, current_key)``: the rows of
    ``explorer.state.pseudocode_diff.pseudocode_diff`` for ``algorithms``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(4, 4, 4, 4)
        self.grid.setHorizontalSpacing(4)
        self.grid.setVerticalSpacing(2)
        self.cells: dict[tuple[str, int], QLabel] = {}  # (row key, column) -> its label
        self.rows: list[Any] = []

    def _clear(self) -> None:
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.cells = {}

    def show_diff(self, rows: list[Any], algorithms: list[int], current: str,
                  half: str = "decoder") -> None:
        self._clear()
        self.rows = rows
        for j, alg in enumerate(algorithms):
            name = NAMES.get(alg, f"Algorithm {alg}")
            head = QLabel(name + (f" ({half})" if alg == 8 else ""))
            head.setFont(theme.title_font(scale=1.0))
            head.setWordWrap(True)
            self.grid.addWidget(head, 0, j + 1)
            self.grid.setColumnStretch(j + 1, 1)
        for i, row in enumerate(rows, start=1):
            what = QLabel(row.label)
            what.setStyleSheet(f"color: {theme.MUTED.name()};")
            self.grid.addWidget(what, i, 0)
            for j, cell in enumerate(row.cells):
                label = self._cell(row, cell, row.key == current)
                self.cells[(row.key, j)] = label
                self.grid.addWidget(label, i, j + 1)
        self.grid.setRowStretch(len(rows) + 1, 1)

    @staticmethod
    def _cell(row: Any, cell: Any, current: bool) -> QLabel:
        label = QLabel()
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        border = f"border: 2px solid {CURRENT};" if current else "border: 2px solid transparent;"
        label.setStyleSheet(f"background: {DIFFERS if row.differs else SAME}; padding: 2px;"
                            + border)
        if cell.line is None:
            label.setText("—  no such line")
            return label
        prefix = f"<b>{cell.line}</b>&nbsp; "
        if cell.kind != "paper":
            prefix += f"<i>{escape('✱ ')}</i>"
            label.setToolTip(cell.note)
        set_typeset(label, cell.text, prefix)
        if cell.kind != "paper":
            font = label.font()
            font.setItalic(True)
            label.setFont(font)
        return label
