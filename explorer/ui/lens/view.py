"""The Lens tab's widget: the controls (position, target, comparison) and three views:
the logit lens grid with the per-token loss under it and the depth plot of a column,
direct logit attribution, and the embedding projection.

Public API (``LensView``): children ``grid`` (``LensGrid``), ``depth`` (``DepthPlot``),
``dla`` (``AttributionView``), ``pca`` (``ProjectionView``), ``views`` (the inner tab
widget), ``position_box``, ``target_edit``, ``pca_source``, ``mode_box``,
``compare_note``; signal ``shown()`` when it becomes visible;
``show_comparison(lens_a, lens_b, labels_a, labels_b, vocab)``: the lens grid of two
inputs of one model (A, B and A − B on one colour scale, aligned on the common prefix);
``columns_in_view(n, position, scrolls)``; ``export_parts()`` (the inner view shown).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from explorer.analysis import LensResult
from explorer.ui.lens.depth import DepthPlot
from explorer.ui.lens.dla_view import AttributionView
from explorer.ui.lens.grid import MODES, LensGrid
from explorer.ui.lens.jobs import PCA_LABELS, PCA_SOURCES
from explorer.ui.lens.pca_view import ProjectionView
from explorer.ui.widgets.export_parts import ViewParts


def _colour(label: QLabel, colour: str) -> None:
    """The label's text colour (through its palette: a style sheet would pin its font
    against the window's zoom)."""
    palette = label.palette()
    palette.setColor(QPalette.ColorRole.WindowText, QColor(colour))
    label.setPalette(palette)


def _scroll(widget: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    return area


class LensView(QWidget):
    """What the Lens tab shows (see the module docstring)."""

    shown = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.grid = LensGrid()
        self.depth = DepthPlot()
        self.dla = AttributionView()
        self.pca = ProjectionView()

        self.position_box = QSpinBox()
        self.position_box.setRange(0, 0)
        self.position_box.setPrefix("position t = ")
        self.position_box.setToolTip("The position the attribution (and the depth plot) "
                                     "looks at; follows the last token until you pick one")
        self.target_edit = QLineEdit()
        self.target_edit.setPlaceholderText("next token")
        self.target_edit.setClearButtonEnabled(True)
        self.target_edit.setToolTip(
            "The token to follow: as the tokenizer spells it (␣ for a space) or #id. "
            "Empty: the actual next token, and the model's top-1 where none follows")
        self.target_edit.setMinimumWidth(110)
        self.target_note = QLabel("")
        self.target_note.setWordWrap(True)
        _colour(self.target_note, "#b91c1c")
        self.target_note.hide()
        self.mode_box = QComboBox()
        self.mode_box.addItems(list(MODES))
        self.mode_box.setToolTip("Comparing two inputs: A, B or A − B on one colour scale")
        self.mode_box.currentTextChanged.connect(self._on_mode)
        self.compare_note = QLabel("")
        self.compare_note.setWordWrap(True)
        _colour(self.compare_note, "#5c4400")
        self.mode_box.hide()
        self.compare_note.hide()

        controls = QHBoxLayout()
        controls.addWidget(self.position_box)
        controls.addWidget(QLabel("target"))
        controls.addWidget(self.target_edit, 1)
        controls.addWidget(self.target_note, 2)
        compare_row = QHBoxLayout()  # shown while two inputs are compared
        compare_row.addWidget(self.mode_box)
        compare_row.addWidget(self.compare_note, 1)

        # the grid keeps the whole height (every point and the loss row in view) and
        # scrolls along the text; the column's depth plot stands beside it
        lens_page = QSplitter(Qt.Orientation.Horizontal)
        self.grid_area = _scroll(self.grid)
        # the row headers stay at the left edge: repaint the whole grid on scrolling
        self.grid_area.horizontalScrollBar().valueChanged.connect(
            lambda _v: self.grid.update())
        lens_page.addWidget(self.grid_area)
        lens_page.addWidget(self.depth)
        lens_page.setStretchFactor(0, 3)
        lens_page.setStretchFactor(1, 1)
        lens_page.setSizes([700, 300])
        self.lens_page = lens_page

        self.pca_source = QComboBox()
        for source in PCA_SOURCES:
            self.pca_source.addItem(PCA_LABELS[source], source)
        self.pca_source.setToolTip("What to project on its first two principal components")
        pca_page = QWidget()
        pca_layout = QVBoxLayout(pca_page)
        pca_layout.setContentsMargins(0, 4, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("project"))
        row.addWidget(self.pca_source, 1)
        pca_layout.addLayout(row)
        pca_layout.addWidget(self.pca, 1)

        self.views = QTabWidget()
        self.views.addTab(lens_page, "Logit lens")
        self.views.setTabToolTip(0, "What the output head would say at every residual point")
        self.views.addTab(_scroll(self.dla), "Attribution")
        self.views.setTabToolTip(1, "Direct logit attribution: which head pushes the target")
        self.views.addTab(pca_page, "Embedding")
        self.views.setTabToolTip(2, "PCA of the token embeddings or of the residual stream")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(controls)
        layout.addLayout(compare_row)
        layout.addWidget(self.views, 1)

    def show_column(self, t: int) -> None:
        """Select column t of the grid and scroll it into view."""
        self.grid.set_column(t)
        rect = self.grid.cell_rect(0, t)
        # in view right of the row headers that stay at the left edge
        self.grid_area.ensureVisible(rect.center().x(), 0,
                                     rect.width() // 2 + self.grid.header_width(), 0)

    def columns_in_view(self, n: int, position: int, scrolls: bool) -> range:
        """The positions (of n) the grid's scroll area shows now, or once ``show_column``
        brings ``position`` into view (``scrolls``: it will)."""
        cell = self.grid.cell_rect(0, 0).width()
        x = self.grid_area.horizontalScrollBar().value()
        width = self.grid_area.viewport().width() - self.grid.header_width()
        lo, hi = x // cell, (x + width) // cell + 1
        if scrolls and not lo <= position < hi:
            hi = position + 2
            lo = max(0, hi - (width // cell + 1))
        return range(min(lo, n), min(hi, n))

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        self.shown.emit()

    # -- comparing two inputs ------------------------------------------------------------
    def show_comparison(self, lens_a: LensResult, lens_b: LensResult | None,
                        labels_a: Sequence[str], labels_b: Sequence[str],
                        vocab: Sequence[str]) -> None:
        """Two inputs A and B of one model in the lens grid (B None: A alone)."""
        self.grid.set_lens(lens_a, labels_a, vocab)
        self.set_compare(lens_b, labels_b)

    def set_compare(self, lens_b: LensResult | None, labels_b: Sequence[str]) -> None:
        self.grid.set_compare(lens_b, labels_b)
        on = lens_b is not None
        self.mode_box.setVisible(on)
        self.compare_note.setVisible(on)
        self.compare_note.setText(self.grid.note)
        if on:
            self.grid.set_mode(self.mode_box.currentText())
        else:
            self.mode_box.setCurrentIndex(0)

    def _on_mode(self, mode: str) -> None:
        self.grid.set_mode(mode)
        self.compare_note.setText(self.grid.note)

    def export_parts(self) -> ViewParts:
        index = self.views.currentIndex()
        if index == 0:
            return self.grid.export_parts()
        return (self.dla if index == 1 else self.pca).export_parts()
