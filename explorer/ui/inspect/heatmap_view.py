"""The current step as a heatmap: title, shape and formula above, values on hover below.

Tokens run along the columns and the dimension down the rows (the paper's X ∈ ℝ^{d×ℓ}).
Signed values use a diverging map centred at 0, probabilities and patterns a sequential
one; cells the attention mask forbids are hatched grey ("masked (−∞)"), never a colour.
Plot items are created once; a new step or text only calls ``setImage`` and ``setTicks``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QBoxLayout,
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from explorer.ui.widgets import theme
from explorer.ui.widgets.export_parts import Caption, Table, ViewParts, tokens_line
from explorer.ui.widgets.typeset import escape, notation_font, set_typeset, typeset

if TYPE_CHECKING:  # explorer.state loads torch; the window paints before torch is loaded
    from explorer.state.step_data import HeatmapData

MAX_HEADS_SHOWN = 16
GAP = "&nbsp;" * 6  # between the shape and the formula (rich text keeps no runs of spaces)
MAX_LABELLED = 160  # more rows or columns than this get numbered ticks instead


def scaled(font: QFont, factor: float) -> QFont:
    out = QFont(font)
    out.setPointSizeF(font.pointSizeF() * factor)
    return out


def _fmt(value: float) -> str:
    if np.isneginf(value):
        return "−∞ (masked)"
    if np.isnan(value):
        return "NaN"
    return f"{value:+.4f}".replace("-", "−")


class HeatmapWidget(QWidget):
    """Shows one ``HeatmapData``; emits ``head_selected(int)`` when a head button is pressed."""

    head_selected = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data: HeatmapData | None = None
        self._last: dict = {}  # what was last set on the plot's parts (``_changed``)
        self._mask_key: bytes | None = None
        self._overlays: dict[bytes, np.ndarray] = {}  # mask -> its hatched image, newest last
        self.title = QLabel("Loading the model…")
        self.title.setFont(theme.title_font())
        self.title.setWordWrap(True)
        self.title.setToolTip("The step being shown: where it sits in the model and what it is")
        self.formula = QLabel("")
        self.formula.setFont(notation_font(scaled(self.font(), 1.15)))
        self.formula.setWordWrap(True)
        self.formula.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.formula.setToolTip("The step's shape in the paper's symbols, and its formula")

        self.heads = QWidget()
        heads_layout = QHBoxLayout(self.heads)
        heads_layout.setContentsMargins(0, 0, 0, 0)
        heads_layout.addWidget(QLabel("Head:"))
        self._head_group = QButtonGroup(self)
        self._head_group.setExclusive(True)
        for h in range(MAX_HEADS_SHOWN):
            button = QPushButton(str(h + 1))
            button.setCheckable(True)
            button.setFixedWidth(button.fontMetrics().horizontalAdvance("000") + 18)
            button.setToolTip(f"Show head {h + 1} of this per-head step "
                              "(H and the digits are shown in the paper's 1-based numbering)")
            self._head_group.addButton(button, h)
            heads_layout.addWidget(button)
        self.kv_label = QLabel("")
        self.kv_label.setWordWrap(True)
        self.kv_label.setToolTip("Grouped-query attention: several query heads share one key "
                                 "and value head (an extension, not in the paper)")
        heads_layout.addWidget(self.kv_label, 1)
        heads_layout.addStretch(1)
        self._head_group.idClicked.connect(self.head_selected.emit)

        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.setToolTip("")
        self.plot_item = self.plot.getPlotItem()
        self.plot_item.hideButtons()
        self.plot_item.getViewBox().invertY(True)
        self.plot_item.getViewBox().setMouseEnabled(x=False, y=False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot_item.addItem(self.image)
        self.mask_image = pg.ImageItem(axisOrder="row-major")
        self.mask_image.setZValue(5)
        self.plot_item.addItem(self.mask_image)
        self.id_texts: list[pg.TextItem] = []
        tick_font = QFont(self.font())
        for name in ("bottom", "left"):
            axis = self.plot_item.getAxis(name)
            axis.setStyle(tickFont=tick_font, autoExpandTextSpace=True)
            axis.label.setFont(tick_font)
        self.colorbar = pg.ColorBarItem(values=(-1, 1), colorMap=theme.diverging(),
                                        interactive=False, width=18)
        self.colorbar.setImageItem(self.image, insert_in=self.plot_item)
        self.plot.scene().sigMouseMoved.connect(self._on_mouse_moved)

        self.hover = QLabel("Hover over a cell to read its exact value.")
        self.hover.setWordWrap(True)  # a read-out: it never widens the window
        self.hover.setProperty("export_hidden", True)  # not on slides
        self.hover.setFont(theme.mono_font())
        self.hover.setToolTip("The value under the mouse, with its row and column")
        self.legend = QLabel()
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setText(
            f"<span style='background:#d7d7d7; color:#787878'>&nbsp;╱╱╱&nbsp;</span>"
            f"&nbsp;{theme.MASK_LEGEND}")
        self.legend.setToolTip("Hatched grey cells are forbidden by the attention mask; "
                               "they are −∞ before the softmax and exactly 0 after it")
        self.hover.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.formula.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        bottom = QHBoxLayout()
        bottom.addWidget(self.hover, 1)
        bottom.addWidget(self.legend)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.title)
        # The head buttons and the rows added under them (``add_toolbar_row``) are shown
        # one at a time: their row keeps its height, so stepping never resizes the plot.
        # It is under the formula, or beside it on a short screen (``set_compact``).
        self.toolbar = QWidget()
        toolbar = QVBoxLayout(self.toolbar)
        toolbar.setContentsMargins(0, 0, 0, 0)
        toolbar.addWidget(self.heads)
        self.formula_row = QBoxLayout(QBoxLayout.Direction.TopToBottom)
        self.formula_row.addWidget(self.formula, 1)
        self.formula_row.addWidget(self.toolbar)
        layout.addLayout(self.formula_row)
        layout.addWidget(self.plot, 1)
        layout.addLayout(bottom)
        self._keep_toolbar_height()
        self.heads.hide()
        self.legend.hide()
        self.plot.hide()  # until there is something to draw

    def set_compact(self, compact: bool) -> None:
        """A short screen (True): the head buttons beside the formula, not under it."""
        self.formula_row.setDirection(QBoxLayout.Direction.LeftToRight if compact
                                      else QBoxLayout.Direction.TopToBottom)

    def set_captions(self, shown: bool) -> None:
        """Show or hide the title, the formula, the head buttons and the hover line (a
        column that names its step and picks its head itself)."""
        for part in (self.title, self.formula, self.toolbar, self.hover):
            part.setVisible(shown)

    def set_kv_note(self, note: str) -> None:
        """Which query heads share a key/value head, beside the head buttons ("" hides)."""
        self.kv_label.setText(note)
        self.kv_label.setVisible(bool(note))

    def add_toolbar_row(self, widget: QWidget) -> None:
        """Put ``widget`` under the head buttons (a row of choices about the step shown,
        never shown with them)."""
        self.toolbar.layout().addWidget(widget)
        self._keep_toolbar_height()

    def _keep_toolbar_height(self) -> None:
        if not hasattr(self, "toolbar"):
            return
        rows = [self.toolbar.layout().itemAt(i).widget()
                for i in range(self.toolbar.layout().count())]
        self.toolbar.setMinimumHeight(max(w.sizeHint().height() for w in rows if w))

    # -- drawing -------------------------------------------------------------------------
    def show_data(self, data: HeatmapData | None) -> None:
        """Draw ``data`` (None: clear the picture and keep the title)."""
        self.data = data
        if data is None:
            self.image.clear()
            self.mask_image.clear()
            return
        step = data.step
        self.plot.show()
        set_typeset(self.title, step.title)
        set_typeset(self.formula, step.formula, f"shape {typeset(step.shape)}{GAP}")
        if data.nonfinite:
            n = data.nonfinite
            self.formula.setText(self.formula.text() + GAP + escape(
                f"⚠ {n:,} value{'s are' if n != 1 else ' is'} not finite "
                "(NaN or ∞), drawn blank"))
        rows, cols = data.values.shape
        cmap = theme.colormap_for(data.kind)
        if self._changed("cmap", data.kind):  # each of these lays the plot out again
            self.colorbar.setColorMap(cmap)
        self.image.setImage(data.values, levels=data.levels, autoLevels=False)
        self.image.setRect(0, 0, cols, rows)
        self.colorbar.setLevels(data.levels)
        self._draw_mask(data.mask, rows, cols)
        self._set_axes(data, rows, cols)
        self._draw_ids(data)
        self.plot_item.getViewBox().setRange(xRange=(0, cols), yRange=(0, rows), padding=0)
        self._show_heads(data)

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        """A new font, style or palette (presentation mode, theme): set everything again."""
        super().changeEvent(event)
        if event.type() in (event.Type.FontChange, event.Type.StyleChange,
                            event.Type.PaletteChange):
            self._last.clear()
            self._keep_toolbar_height()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        if self.data is not None:
            self._set_axes(self.data, *self.data.values.shape)

    def _draw_mask(self, mask: np.ndarray | None, rows: int, cols: int) -> None:
        self.legend.setVisible(mask is not None)
        if mask is None:
            self.mask_image.clear()
            self._mask_key = None
            return
        key = mask.tobytes() + bytes(str(mask.shape), "ascii")
        if key != self._mask_key:
            # the last few kept: typing and deleting a character goes back and forth
            image = self._overlays.pop(key, None)
            if image is None:
                image = theme.mask_overlay(mask)
            self._overlays[key] = image
            while len(self._overlays) > 4:
                self._overlays.pop(next(iter(self._overlays)))
            self.mask_image.setImage(image, autoLevels=False)
            self._mask_key = key
        self.mask_image.setRect(0, 0, cols, rows)

    def _set_axes(self, data: HeatmapData, rows: int, cols: int) -> None:
        from explorer.state.step_data import DIM_NAMES

        bottom = self.plot_item.getAxis("bottom")
        left = self.plot_item.getAxis("left")
        metrics = self.fontMetrics()
        size = self.plot_item.getViewBox().size()
        col_room = max(1, int(size.width() / (metrics.horizontalAdvance("⟨bos⟩") * 0.6)))
        row_room = max(1, int(size.height() / (metrics.height() * 0.9)))
        col_ticks = self._ticks(data.col_labels, cols, col_room)
        if self._changed("col_ticks", col_ticks):
            bottom.setTicks(col_ticks)
        row_labels = data.row_labels or data.row_names
        row_ticks = self._ticks(row_labels, rows, row_room) if data.row_dim else [[]]
        if self._changed("row_ticks", row_ticks):
            left.setTicks(row_ticks)
        shown = [text for _, text in row_ticks[0]]
        widest = max((metrics.horizontalAdvance(t) for t in shown), default=0)
        if self._changed("left_width", widest + metrics.height() + 16):
            left.setWidth(widest + metrics.height() + 16)
        if self._changed("bottom_height", 2 * metrics.height() + 14):
            bottom.setHeight(2 * metrics.height() + 14)
        bottom_label = typeset(DIM_NAMES.get(data.col_dim, data.col_dim) + " → columns")
        if self._changed("bottom_label", bottom_label):
            bottom.setLabel(bottom_label)
        row_name = DIM_NAMES.get(data.row_dim, data.row_dim)
        left_label = typeset(f"{row_name} ↓ rows") if row_name else ""
        if self._changed("left_label", left_label):
            left.setLabel(left_label)

    def _changed(self, what: str, value) -> bool:
        """Whether ``value`` differs from the last one set for ``what`` (then noted)."""
        if self._last.get(what, self) == value:
            return False
        self._last[what] = value
        return True

    @staticmethod
    def _ticks(labels: tuple[str, ...] | None, n: int, room: int = 64) -> list:
        """Tick (position, text) at cell centres: every label that fits in ``room`` slots."""
        if labels is not None and len(labels) == n and n <= MAX_LABELLED:
            every = max(1, int(np.ceil(n / max(room, 1))))
            return [[(i + 0.5, labels[i]) for i in range(0, n, every)]]
        step = max(1, int(np.ceil(n / min(16, max(room, 2)))))
        if step > 1:
            step = int(5 * np.ceil(step / 5)) if step > 5 else step
        return [[(i + 0.5, str(i + 1)) for i in range(0, n, step)]]

    def _draw_ids(self, data: HeatmapData) -> None:
        n = data.values.shape[1] if data.kind == "ids" else 0
        cell_px = self.plot.width() * 0.85 / max(n, 1)
        widest = self.fontMetrics().horizontalAdvance(str(int(data.raw.max(initial=0))))
        if cell_px < widest + 4:
            n = 0  # too narrow to print the ids: hover shows them
        while len(self.id_texts) < n:
            item = pg.TextItem(color="w", anchor=(0.5, 0.5))
            item.setFont(self.font())
            self.plot_item.addItem(item)
            self.id_texts.append(item)
        for i, item in enumerate(self.id_texts):
            item.setVisible(i < n)
            if i < n:
                item.setText(str(int(data.raw[0, i])))
                item.setPos(i + 0.5, 0.5)

    def _show_heads(self, data: HeatmapData) -> None:
        self.heads.setVisible(data.head is not None)
        if data.head is None:
            return
        for h, button in enumerate(self._head_group.buttons()):
            button.setVisible(h < data.n_heads)
        chosen = self._head_group.button(data.head)
        if chosen is not None and not chosen.isChecked():
            chosen.setChecked(True)

    # -- hover ---------------------------------------------------------------------------
    def cell_text(self, row: int, col: int) -> str:
        """``value +0.1234 · row d_e 12 · column 3 'e'`` for a cell of the current data."""
        data = self.data
        if data is None:
            return ""
        value = float(data.raw[row, col])
        row_part = self._axis_part(data.row_dim, row, data.row_labels or data.row_names)
        col_part = self._axis_part(data.col_dim, col, data.col_labels)
        head = f" · head {data.head + 1}" if data.head is not None else ""
        return f"value {_fmt(value)} · row {row_part} · column {col_part}{head}"

    @staticmethod
    def _axis_part(dim: str, index: int, labels: tuple[str, ...] | None) -> str:
        name = dim or "—"
        if labels is not None and index < len(labels):
            return f"{name} {index + 1} '{labels[index]}'"
        return f"{name} {index + 1}"

    def _on_mouse_moved(self, pos: QPointF) -> None:
        data = self.data
        if data is None:
            return
        point = self.plot_item.getViewBox().mapSceneToView(pos)
        col, row = int(np.floor(point.x())), int(np.floor(point.y()))
        rows, cols = data.raw.shape
        if 0 <= row < rows and 0 <= col < cols:
            self.hover.setText(self.cell_text(row, col))

    def export_parts(self) -> ViewParts:
        """The heatmap with its step's title, shape, formula and tokens, and its matrix."""
        data = self.data
        if data is None:
            return ViewParts(self, None, None)
        head = f" · head {data.head + 1}" if data.head is not None else ""
        caption = Caption(f"{data.step.title}{head}", data.step.shape, data.step.formula,
                          tokens_line(data.col_labels or data.row_labels))
        table = Table(data.raw, data.row_labels or data.row_names, data.col_labels,
                      data.row_dim or "row", data.col_dim)
        return ViewParts(self, caption, table)


