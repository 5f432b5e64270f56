"""The SAE tab's widgets: training controls and live metrics, the feature list with a
density histogram, and one feature's page (its activation over the typed text, its top
contexts, what it pushes, its nearest features) with buttons that intervene with it."""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from explorer.ui.widgets.style import scaled_font

SHADE = (255, 140, 0)  # the colour of an active token (alpha grows with the activation)


def shaded_tokens(labels: list[str], acts: list[float], top: float,
                  focus: int | None = None) -> str:
    """HTML: each token on a background as strong as its activation (over ``top``)."""
    parts = []
    for i, (label, a) in enumerate(zip(labels, acts)):
        alpha = 0.0 if top <= 0 else max(0.0, min(1.0, a / top))
        style = f"background-color: rgba({SHADE[0]},{SHADE[1]},{SHADE[2]},{alpha:.2f});"
        if i == focus:
            style += " text-decoration: underline; font-weight: bold;"
        title = f"{a:.2f}"
        parts.append(f'<span style="{style}" title="{title}">{html.escape(label)}</span>')
    return "".join(parts)


class SAEView(QWidget):
    """Controls on top; the feature list (left) and the chosen feature (right) below."""

    def __init__(self) -> None:
        super().__init__()
        self.site_box = QComboBox()
        self.site_box.setToolTip("Where the SAE reads the model (layers count from 1)")
        self.kind_box = QComboBox()
        self.kind_box.addItem("TopK", "topk")
        self.kind_box.addItem("ReLU + L1", "relu")
        self.expansion_spin = QSpinBox(minimum=1, maximum=64, value=8, prefix="features ×")
        self.k_spin = QSpinBox(minimum=1, maximum=4096, value=16, prefix="k = ")
        self.steps_spin = QSpinBox(minimum=1, maximum=1_000_000, value=300, suffix=" steps")
        self.data_edit = QLineEdit()
        self.data_edit.setPlaceholderText("bundled data set or text file")
        self.train_button = QPushButton("Train SAE")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.open_button = QPushButton("Open SAE…")
        controls = QHBoxLayout()
        for w in (self.site_box, self.kind_box, self.expansion_spin, self.k_spin,
                  self.steps_spin):
            controls.addWidget(w)
        controls.addStretch(1)
        self.site_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.site_box.setMinimumContentsLength(14)
        self.data_edit.setMinimumWidth(90)
        self.data_edit.setToolTip("What the SAE trains on: a bundled data set or a text file")
        self.status = QLabel("No SAE yet: choose a site and train one, or open one.")
        self.status.setWordWrap(True)
        self.status.setFont(scaled_font(self.status, 1.1))
        second = QHBoxLayout()
        second.addWidget(QLabel("Data:"))
        second.addWidget(self.data_edit, 1)
        for w in (self.train_button, self.stop_button, self.open_button):
            second.addWidget(w)
        self.stale = QLabel()
        self.stale.setWordWrap(True)
        self.stale.setStyleSheet("color: #b35900; font-weight: bold;")
        self.stale.hide()

        self.histogram = pg.PlotWidget()
        self.histogram.setBackground("w")  # like the other plots, whatever pg's defaults
        self.histogram.setMinimumHeight(130)
        self.histogram.setMaximumHeight(170)
        self.histogram.setMenuEnabled(False)
        self.histogram.setMouseEnabled(False, False)
        self.histogram.setLabel("bottom", "log₁₀ density (share of tokens)")
        self.histogram.setLabel("left", "features")
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.1, brush=(255, 140, 0, 200))
        self.histogram.addItem(self.bars)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Feature", "Density", "Max on text"])
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(self.histogram)
        lv.addWidget(self.table)

        self.detail = QLabel("Train or open an SAE, then pick a feature.")
        self.detail.setTextFormat(Qt.TextFormat.RichText)
        self.detail.setWordWrap(True)
        self.detail.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.detail.setFont(scaled_font(self.detail, 1.15))
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.detail)
        self.where_box = QComboBox()
        self.where_box.addItem("at all positions", "all")
        self.where_box.addItem("at the last position", "last")
        self.ablate_button = QPushButton("Ablate")
        self.clamp_spin = QDoubleSpinBox(minimum=-1000, maximum=1000, value=0.0, decimals=2)
        self.clamp_button = QPushButton("Clamp to")
        self.alpha_spin = QDoubleSpinBox(minimum=-1000, maximum=1000, value=8.0, decimals=2)
        self.steer_button = QPushButton("Steer by α")
        act = QGridLayout()
        act.addWidget(self.ablate_button, 0, 0)
        act.addWidget(self.clamp_button, 0, 1)
        act.addWidget(self.clamp_spin, 0, 2)
        act.addWidget(self.where_box, 0, 3)
        act.addWidget(self.steer_button, 1, 1)
        act.addWidget(self.alpha_spin, 1, 2)
        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        rv.addWidget(scroll, 1)
        rv.addLayout(act)
        self.set_feature_actions(False)

        split = QSplitter()
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addLayout(second)
        layout.addWidget(self.status)
        layout.addWidget(self.stale)
        layout.addWidget(split, 1)

    def set_feature_actions(self, on: bool) -> None:
        for w in (self.ablate_button, self.clamp_button, self.steer_button):
            w.setEnabled(on)

    def set_training(self, on: bool) -> None:
        self.train_button.setEnabled(not on)
        self.open_button.setEnabled(not on)
        self.stop_button.setEnabled(on)

    def show_density(self, density: np.ndarray) -> None:
        """The histogram of log₁₀ density over the features that fire (dead ones counted in
        the title)."""
        alive = density[density > 0]
        dead = int((density <= 0).sum())
        self.histogram.setTitle(f"{len(alive)} features fire, {dead} never do")
        if not len(alive):
            self.bars.setOpts(x=[], height=[])
            return
        counts, edges = np.histogram(np.log10(alive), bins=30)
        self.bars.setOpts(x=(edges[:-1] + edges[1:]) / 2, height=counts,
                          width=float(edges[1] - edges[0]) * 0.9)

    def fill_table(self, rows: list[tuple[int, float, float | None]]) -> None:
        """Rows (feature, density, max on the text), in the order given."""
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(rows))
        for r, (feature, density, on_text) in enumerate(rows):
            values = (str(feature), f"{density:.2%}", "" if on_text is None else
                      f"{on_text:.2f}")
            for c, text in enumerate(values):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, feature)
                self.table.setItem(r, c, item)
