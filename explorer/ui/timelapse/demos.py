"""The Time-lapse's empty state: buttons that train a bundled demo and show it as it forms.

A button is offered for each demo whose preset exists (``explorer.train.presets``, looked
up by name when the tab is built); it emits ``train_requested({"preset": name})``, which
the window hands to the Train tab, as a scene's training request.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from explorer.train.presets import preset_names

DEMOS = (
    ("induction", "Train the induction demo",
     "Two layers learn to copy what followed the last time a letter came; a weight "
     "snapshot every 100 steps"),
    ("grokking", "Train the grokking demo",
     "Modular addition: training accuracy first, validation accuracy much later"),
)


class DemoButtons(QWidget):
    train_requested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("No run yet:"))
        known = set(preset_names())
        self.buttons: dict[str, QPushButton] = {}
        for name, text, tip in DEMOS:
            if name not in known:
                continue
            button = QPushButton(text)
            button.setToolTip(f"{tip} (the {name!r} preset, in the Train tab)")
            button.clicked.connect(lambda _c=False, n=name: self.train_requested.emit(
                {"preset": n}))
            layout.addWidget(button)
            self.buttons[name] = button
        layout.addStretch(1)
