"""The side-by-side view: one column per model (``explorer.state.architectures``), each the
window's own step view (handed in as ``make_view``, a widget with ``show_data``), all at
the same row of the paper's lines.

Keys, while the view is shown and no text box has the keyboard: → / ← the next or previous
line, Home / End the first or last, PageDown / PageUp the next or previous layer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QPlainTextEdit,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from explorer.state.architectures import HALVES, ROWS
from explorer.trace.pseudocode import ALGORITHMS
from explorer.ui.architectures.diff import PseudocodeDiffWidget
from explorer.ui.architectures.masks import MasksWidget
from explorer.ui.widgets import theme
from explorer.ui.widgets.export_parts import Caption, ViewParts
from explorer.ui.widgets.scroll import scrollable
from explorer.ui.widgets.typeset import notation_font, set_typeset

NAV_KEYS = {Qt.Key.Key_Right: ("step", 1), Qt.Key.Key_Left: ("step", -1),
            Qt.Key.Key_Home: ("row", 0), Qt.Key.Key_End: ("row", len(ROWS) - 1),
            Qt.Key.Key_PageDown: ("layer", 1), Qt.Key.Key_PageUp: ("layer", -1)}
MIN_COLUMN_WIDTH = 180
ALG_NAMES = {10: "Decoder-only · Alg 10", 9: "Encoder-only · Alg 9",
             8: "Encoder–decoder · Alg 8"}


class ColumnWidget(QWidget):
    """One model: its name, its algorithm's line (or why it has none) and its step view
    (a widget with ``show_data(data)`` and ``set_captions(shown)``: the Step tab's)."""

    def __init__(self, view: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.title = QLabel("")
        self.title.setFont(theme.title_font(scale=1.15))
        self.title.setWordWrap(True)
        self.model = QLabel("")
        self.model.setWordWrap(True)
        self.line = QLabel("")
        self.line.setWordWrap(True)
        self.line.setFont(notation_font(self.font()))
        self.line.setStyleSheet("background: #ffe082; padding: 4px;")
        self.none = QLabel("")
        self.none.setWordWrap(True)
        self.none.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.none.setFont(theme.title_font(scale=1.1))
        self.none.setStyleSheet("color: #6e6e6e; border: 2px dashed #bbb; padding: 12px;")
        self.stack = QStackedWidget()
        self.stack.addWidget(view)
        self.stack.addWidget(self.none)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        for w in (self.title, self.model, self.line):
            layout.addWidget(w)
        layout.addWidget(self.stack, 1)
        view.set_captions(False)  # the column names its line itself
        for child in view.findChildren(QWidget):  # the keys step the columns together
            child.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        # Three columns fit a 1280-pixel screen beside the docks: a column may be narrower
        # than its view would like (its head buttons wrap out of sight, not the window).
        self.setMinimumWidth(MIN_COLUMN_WIDTH)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Expanding)

    def show_column(self, column: Any, data: Any, cell: Any = None) -> None:
        """``column`` (an ``explorer.state.architectures.Column``), its step's data and its
        pseudocode diff cell (the line as this model computes it)."""
        alg = column.algorithm
        self.title.setText(ALG_NAMES.get(alg, f"Algorithm {alg}"))
        self.model.setText(column.session.loaded.label)
        self.model.setToolTip(column.label)
        if column.line is None:
            self.line.setStyleSheet("color: #6e6e6e; padding: 4px;")
            self.line.setText(f"Algorithm {alg}: no such line")
            self.none.setText(column.note)
            self.stack.setCurrentWidget(self.none)
            return
        self.line.setStyleSheet("background: #ffe082; padding: 4px;")
        code = ALGORITHMS[alg].lines[column.line - 1].strip()
        if cell is not None and cell.line == column.line:
            code = cell.text + ("   ✱ " + cell.note if cell.note else "")
        set_typeset(self.line, code, f"{column.line}  ")
        self.view.show_data(data)
        self.view.setToolTip(column.note)
        self.stack.setCurrentWidget(self.view)


class SideBySideWidget(QWidget):
    """The bar (line, layer, half of Algorithm 8, models) above the columns.

    Signals: ``row_chosen(int)``, ``stepped(int)`` (±1), ``layer_chosen(int)``,
    ``head_chosen(int)`` (0-based), ``half_chosen(str)``,
    ``bundled_requested()``, ``folder_requested()``, ``column_removed()``.
    """

    row_chosen = Signal(int)
    stepped = Signal(int)  # → (+1) or ← (−1): the next row some column has a line for
    layer_chosen = Signal(int)
    head_chosen = Signal(int)
    half_chosen = Signal(str)
    bundled_requested = Signal()
    folder_requested = Signal()
    column_removed = Signal()

    def __init__(self, make_view: Callable[[], QWidget], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.make_view = make_view
        self.columns: list[ColumnWidget] = []
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        self.back, self.forward = QToolButton(), QToolButton()
        self.back.setText("  ◀  ")
        self.forward.setText("  ▶  ")
        self.back.setToolTip("The previous line of the paper, in every column (←)")
        self.forward.setToolTip("The next line of the paper, in every column (→)")
        self.rows = QComboBox()
        for row in ROWS:
            self.rows.addItem(row.label, row.key)
        self.rows.setToolTip("The line every column shows, by what it does (each column "
                             "highlights its own algorithm's line)")
        self.layer = QSpinBox()
        self.layer.setPrefix("Layer ")
        self.layer.setRange(1, 99)
        self.layer.setToolTip("The layer every column shows (PageDown / PageUp); a model "
                              "with fewer layers shows its last")
        self.head = QSpinBox()
        self.head.setPrefix("Head ")
        self.head.setRange(1, 99)
        self.head.setToolTip("The head every column shows on a per-head step (an attention "
                             "pattern); a model with fewer heads shows its last")
        self.half = QComboBox()
        for half in HALVES:
            self.half.addItem(f"Alg 8: {half}", half)
        self.half.setToolTip("Which half of the encoder–decoder (Algorithm 8) its column "
                             "follows")
        self.models = QToolButton()
        self.models.setText("Models")
        self.models.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.models.setToolTip("Which models the columns show")
        self.models.addAction("The bundled decoder, encoder and encoder–decoder",
                              self.bundled_requested.emit)
        self.models.addAction("Add a model folder…", self.folder_requested.emit)
        self.models.addAction("Remove the last column", self.column_removed.emit)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #8a1c1c;")
        self.message.hide()
        for box, chars in ((self.rows, 12), (self.half, 6)):
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(chars)
        for w in (self.back, self.forward, self.rows, self.layer, self.head):
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            bar.addWidget(w)
        bar.addStretch(1)
        second = QHBoxLayout()  # what is shown, and which models: a narrow screen's 2nd row
        second.setContentsMargins(4, 0, 4, 2)
        self.shown = {}  # "columns" / "diff" -> its button
        for name, text, tip in (("columns", "Steps", "Each model's step at this line"),
                                ("diff", "Pseudocode diff", "Algorithms 10, 9 and 8 line "
                                 "by line, the lines that differ tinted, this line outlined"),
                                ("masks", "Masks", "The bidirectional, unidirectional and "
                                 "cross masks on the same tokens; hover a cell")):
            button = QToolButton()
            button.setText(text)
            button.setCheckable(True)
            button.setAutoExclusive(True)
            button.setToolTip(tip)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.toggled.connect(self._show_page)
            self.shown[name] = button
            second.addWidget(button)
        for w in (self.half, self.models):
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            second.addWidget(w)
        second.addStretch(1)
        self.second_row = second  # the panel adds Train all three here
        self.bar = QWidget()
        rows = QVBoxLayout(self.bar)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.setSpacing(0)
        rows.addLayout(bar)
        rows.addLayout(second)
        self.title = QLabel("")  # the line every column shows
        self.title.setFont(theme.title_font())
        self.title.setWordWrap(True)
        self.columns_page = QWidget()
        self.row_box = QHBoxLayout(self.columns_page)
        self.row_box.setContentsMargins(0, 0, 0, 0)
        self.row_box.setSpacing(8)
        self.diff = PseudocodeDiffWidget()
        self.diff_page = scrollable(self.diff)
        self.masks = MasksWidget()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar)
        layout.addWidget(self.title)
        layout.addWidget(self.message)
        layout.addWidget(self.columns_page, 3)
        layout.addWidget(self.diff_page, 2)
        layout.addWidget(self.masks, 3)
        self.shown["columns"].setChecked(True)
        self.back.clicked.connect(lambda: self.stepped.emit(-1))
        self.forward.clicked.connect(lambda: self.stepped.emit(1))
        self.rows.activated.connect(self.row_chosen.emit)
        self.layer.valueChanged.connect(lambda v: self.layer_chosen.emit(v - 1))
        self.head.valueChanged.connect(lambda v: self.head_chosen.emit(v - 1))
        self.half.activated.connect(lambda i: self.half_chosen.emit(self.half.itemData(i)))
        self.keys = NavKeys(self)

    def _show_page(self, *_args) -> None:
        self.columns_page.setVisible(self.shown["columns"].isChecked())
        self.diff_page.setVisible(self.shown["diff"].isChecked())
        self.masks.setVisible(self.shown["masks"].isChecked())

    def set_slide(self) -> None:
        """A slide (``render``): the columns above the whole diff, no bar."""
        self.bar.hide()
        self.title.hide()  # the picture's caption says it
        self.masks.hide()
        layout = self.layout()
        layout.removeWidget(self.diff_page)
        self.diff_page.takeWidget()
        self.diff_page.deleteLater()
        self.diff_page = self.diff
        layout.addWidget(self.diff, 0)
        layout.setStretchFactor(self.columns_page, 1)
        self.columns_page.show()
        # The slide is the size asked for (``render --size``); too small, it is cut.
        layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)

    def export_parts(self) -> ViewParts:
        row = ROWS[self.rows.currentIndex()]
        algorithms = ", ".join(c.title.text() for c in self.columns)
        return ViewParts(self, Caption(f"{row.label} · {algorithms}"), None)

    def say(self, message: str) -> None:
        self.message.setText(message)
        self.message.setVisible(bool(message))

    def show_sync(self, sync: Any, data: list[Any], diff: list[Any], masks: list[Any]
                  ) -> None:
        """``sync`` (an ``explorer.state.architectures.SideBySide``), each column's data,
        the pseudocode diff's rows of its models and the masks on its tokens."""
        while len(self.columns) > len(sync.columns):
            gone = self.columns.pop()
            self.row_box.removeWidget(gone)
            gone.deleteLater()
        while len(self.columns) < len(sync.columns):
            column = ColumnWidget(self.make_view())
            self.columns.append(column)
            self.row_box.addWidget(column, 1)
        row = next((r for r in diff if r.key == sync.current.key), None)
        cells = row.cells if row is not None else [None] * len(self.columns)
        for widget, column, values, cell in zip(self.columns, sync.columns, data, cells):
            widget.show_column(column, values, cell)
        self.title.setText(f"Line: {sync.current.label}")
        self.diff.show_diff(diff, [c.algorithm for c in sync.columns], sync.current.key,
                            sync.half)
        self.masks.show_masks(masks)
        for box in (self.rows, self.layer, self.head):
            box.blockSignals(True)
        self.rows.setCurrentIndex(sync.row)
        self.layer.setValue(sync.layer + 1)
        self.head.setRange(1, max(c.session.n_heads for c in sync.columns))
        self.head.setValue(sync.head + 1)
        for box in (self.rows, self.layer, self.head):
            box.blockSignals(False)
        self.half.setCurrentIndex(HALVES.index(sync.half))
        self.half.setVisible(any(c.algorithm == 8 for c in sync.columns))
        self.back.setEnabled(sync.row > 0)
        self.forward.setEnabled(sync.row < len(ROWS) - 1)


class NavKeys(QObject):
    """The stepping keys for ``view`` while it is shown and no text box has the keyboard
    (they are the window's own shortcuts elsewhere: taken before the shortcut fires)."""

    def __init__(self, view: SideBySideWidget) -> None:
        super().__init__(view)
        self.view = view
        QApplication.instance().installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        kind = event.type()
        if kind not in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress):
            return False
        if event.key() not in NAV_KEYS or event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            return False
        view = self.view
        if not view.isVisible() or view.visibleRegion().isEmpty():
            return False
        focus = QApplication.focusWidget()
        if isinstance(focus, (QLineEdit, QPlainTextEdit, QAbstractSpinBox, QComboBox)):
            return False
        if kind == QEvent.Type.ShortcutOverride:
            event.accept()  # the key comes as a key press, not as the window's shortcut
            return True
        what, by = NAV_KEYS[event.key()]
        if what == "step":
            view.stepped.emit(by)
        elif what == "row":
            view.row_chosen.emit(by)
        else:
            view.layer_chosen.emit(max(0, view.layer.value() - 1 + by))
        return True
