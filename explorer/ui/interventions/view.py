"""The Interventions dock's widgets: the list with its switch and buttons, the effect on
the output, and the sweeps with their progress, Cancel and heatmap (no model code here:
``panel.InterventionsPanel`` fills and runs them)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from explorer.ui.interventions.heatmap import SweepHeatmap
from explorer.ui.widgets.export_parts import ViewParts
from explorer.ui.widgets.style import scaled_font

EMPTY = ("No interventions. Right-click a head in the Attention tab's grid (or press X on "
         "it) to ablate or patch it, or a cell of the open pattern to edit that weight.")


class InterventionsView(QWidget):
    """Active interventions (removable, a master switch), the effect, and the sweeps."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.enabled_box = QCheckBox("Apply the interventions")
        self.enabled_box.setChecked(True)
        self.enabled_box.setToolTip("Off: every view shows the model's own run again; the "
                                    "list is kept")
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.setToolTip("The interventions, applied in this order during the forward "
                             "pass (Delete removes the selected one)")
        self.empty_label = QLabel(EMPTY)
        self.empty_label.setWordWrap(True)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Remove the selected intervention (Delete)")
        self.clear_button = QPushButton("Remove all")
        self.effect_label = QLabel("")
        self.effect_label.setWordWrap(True)
        self.effect_label.setFont(scaled_font(self, 1.05))
        self.effect_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        buttons = QHBoxLayout()  # (the dock is narrow: the switch has a row of its own)
        buttons.addStretch(1)
        buttons.addWidget(self.remove_button)
        buttons.addWidget(self.clear_button)

        self.importance_button = QPushButton("Head importance")
        self.importance_button.setToolTip("Ablate each head in turn and show how much the "
                                          "text's loss rises (Δ loss, layers × heads)")
        self.mode_box = QComboBox()
        self.mode_box.addItem("zero", "zero")
        self.mode_box.addItem("mean", "mean")
        self.mode_box.setToolTip("How each head is ablated: set to 0, or to its mean over "
                                 "the positions")
        self.patch_button = QPushButton("Patch A → B")
        self.patch_button.setToolTip(
            "Activation patching (ROME, IOI): run text B (corrupted) with one activation "
            "taken from text A (clean); 1 = A's logit difference, 0 = B's")
        self.target_edit = QLineEdit()
        self.target_edit.setPlaceholderText("A's top token")
        self.target_edit.setToolTip("The token whose logit difference (target − other) at "
                                    "the last position is the metric (␣ for a space, #id)")
        self.other_edit = QLineEdit()
        self.other_edit.setPlaceholderText("B's top token")
        self.other_edit.setToolTip("The other token of the logit difference")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.sweep_note = QLabel("")
        self.sweep_note.setWordWrap(True)
        # A sweep computed (or still running) on weights the model has trained past.
        self.stale_label = QLabel("")
        self.stale_label.setWordWrap(True)
        self.stale_label.setStyleSheet("color: #8a5a00;")
        self.rerun_button = QPushButton("Re-run")
        self.rerun_button.setToolTip("Run this sweep again on the current weights")
        self.site_box = QComboBox()
        self.site_box.setToolTip("Which activation the heatmap shows")
        self.site_box.hide()
        self.heatmap = SweepHeatmap()
        self.heatmap.hide()

        sweeps = QGroupBox("Sweeps")
        grid = QGridLayout(sweeps)
        grid.addWidget(self.importance_button, 0, 0)
        grid.addWidget(QLabel("ablate:"), 0, 1, Qt.AlignmentFlag.AlignRight)
        grid.addWidget(self.mode_box, 0, 2)
        grid.addWidget(self.patch_button, 1, 0)
        grid.addWidget(QLabel("target:"), 1, 1, Qt.AlignmentFlag.AlignRight)
        grid.addWidget(self.target_edit, 1, 2)
        grid.addWidget(QLabel("other:"), 2, 1, Qt.AlignmentFlag.AlignRight)
        grid.addWidget(self.other_edit, 2, 2)
        run_row = QHBoxLayout()
        run_row.addWidget(self.progress, 1)
        run_row.addWidget(self.cancel_button)
        grid.addLayout(run_row, 3, 0, 1, 3)
        stale_row = QHBoxLayout()
        stale_row.addWidget(self.stale_label, 1)
        stale_row.addWidget(self.rerun_button)
        grid.addLayout(stale_row, 4, 0, 1, 3)
        grid.addWidget(self.sweep_note, 5, 0, 1, 3)
        grid.addWidget(self.site_box, 6, 0, 1, 3)
        grid.addWidget(self.heatmap, 7, 0, 1, 3)
        grid.setRowStretch(7, 1)
        self.set_stale("")
        for edit in (self.target_edit, self.other_edit):
            edit.setMinimumWidth(60)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.enabled_box)
        layout.addLayout(buttons)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.list)
        layout.addWidget(self.effect_label)
        layout.addWidget(sweeps, 1)

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self.list.hasFocus():
            self.remove_button.click()
            return
        super().keyPressEvent(event)

    def set_items(self, lines: list[str], enabled: bool) -> None:
        current = self.list.currentRow()
        self.list.clear()
        self.list.addItems(lines)
        if lines:
            self.list.setCurrentRow(min(max(current, 0), len(lines) - 1))
        rows = max(1, min(len(lines), 4))  # as tall as its lines, up to four
        row_height = self.list.sizeHintForRow(0) if lines else 20
        self.list.setFixedHeight(rows * max(row_height, 18) + 2 * self.list.frameWidth() + 4)
        self.list.setVisible(bool(lines))
        self.empty_label.setVisible(not lines)
        self.remove_button.setEnabled(bool(lines))
        self.clear_button.setEnabled(bool(lines))
        self.enabled_box.blockSignals(True)
        self.enabled_box.setChecked(enabled)
        self.enabled_box.blockSignals(False)

    def set_running(self, running: bool) -> None:
        self.cancel_button.setEnabled(running)
        self.importance_button.setEnabled(not running)
        self.patch_button.setEnabled(not running)

    def set_stale(self, note: str) -> None:
        """Say the sweep shown or running is on earlier weights, with Re-run ("" hides)."""
        self.stale_label.setText(note)
        self.stale_label.setVisible(bool(note))
        self.rerun_button.setVisible(bool(note))

    def export_parts(self) -> ViewParts:
        return self.heatmap.export_parts()
