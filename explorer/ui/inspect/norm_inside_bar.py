"""The inside of a norm step (Algorithm 6), one line at a time: a row of buttons under the
Step view's title, shown on norm steps only. ``output`` is the step itself; ``mean``,
``var``, ``normalized`` and ``result`` are the values behind Algorithm 6's lines 1-3
(``explorer.trace.norm_inside``). ``part_selected(str)`` when the user picks one (a
click, or I to go to the next)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QPushButton, QWidget

from explorer.ui.widgets.typeset import notation_font, typeset

ORDER = ("output", "mean", "var", "normalized", "result")
LABELS = {
    "output": ("the step", "The norm's output, as recorded"),
    "mean": ("1 · m", "Line 1 of Algorithm 6: the mean m of each column"),
    "var": ("2 · v", "Line 2: the variance v of each column (RMSnorm: the mean square)"),
    "normalized": ("3 · (e − m) / √v", "Line 3, first half: each column centred and scaled"),
    "result": ("3 · ⊙ γ + β", "Line 3: the normalised columns times γ, plus β"),
}


class NormInsideBar(QWidget):
    part_selected = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        caption = QLabel("Inside Algorithm 6:")
        caption.setToolTip("The values behind each line of the norm (press I to step "
                           "through them)")
        layout.addWidget(caption)
        self._group = QButtonGroup(self)
        self._group.setExclusive(True)
        self.buttons: dict[str, QPushButton] = {}
        for i, part in enumerate(ORDER):
            text, tip = LABELS[part]
            button = QPushButton()
            button.setCheckable(True)
            button.setFont(notation_font(button.font()))
            button.setText(text)
            button.setToolTip(f"<qt>{typeset(tip)}</qt>")
            self._group.addButton(button, i)
            self.buttons[part] = button
            layout.addWidget(button)
        layout.addStretch(1)
        self._group.idClicked.connect(lambda i: self.part_selected.emit(ORDER[i]))
        self.buttons["output"].setChecked(True)

    @property
    def part(self) -> str:
        return ORDER[max(0, self._group.checkedId())]

    def reset(self) -> None:
        """Back to the step itself (a new step or trace)."""
        self.buttons["output"].setChecked(True)

    def next_part(self) -> None:
        """I: the next line's values, round to the step itself."""
        part = ORDER[(ORDER.index(self.part) + 1) % len(ORDER)]
        self.buttons[part].setChecked(True)
        self.part_selected.emit(part)
