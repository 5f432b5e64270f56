"""The tokenizer lab's tables: a plain rows model that filters fast (50,000 rows), and
the vocabulary as a searchable table (id, piece, special or not, count in the text)."""

from __future__ import annotations

from collections import Counter

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from explorer.tokenize import Tokenizer
from explorer.ui.widgets.style import visible_token
from explorer.ui.widgets.typeset import escape

_ROOT = QModelIndex()
SPECIAL_BACKGROUND = QColor("#ede9fe")
CURRENT_BACKGROUND = QColor("#fde68a")


class RowsModel(QAbstractTableModel):
    """Rows of plain values; ``set_filter(keep)`` shows the rows ``keep(row)`` accepts."""

    def __init__(self, headers: list[str], parent=None) -> None:
        super().__init__(parent)
        self.headers = headers
        self.rows: list[tuple] = []
        self.shown: list[int] = []  # indices into rows
        self.tips: list[str] = []  # per row, or empty
        self.highlight: set[int] = set()  # row indices drawn with the current colour
        self.marked: set[int] = set()  # row indices drawn with the special colour
        self.blank_zero: set[int] = set()  # columns where 0 is drawn as nothing

    def set_rows(self, rows: list[tuple], tips: list[str] | None = None) -> None:
        self.beginResetModel()
        self.rows = rows
        self.tips = tips or []
        self.shown = list(range(len(rows)))
        self.highlight, self.marked = set(), set()
        self.endResetModel()

    def set_filter(self, keep) -> None:
        self.beginResetModel()
        self.shown = [i for i, r in enumerate(self.rows) if keep is None or keep(r)]
        self.endResetModel()

    def shown_rows(self) -> list[tuple]:
        return [self.rows[i] for i in self.shown]

    def rowCount(self, parent=_ROOT) -> int:  # noqa: N802 (Qt)
        return 0 if parent.isValid() else len(self.shown)

    def columnCount(self, parent=_ROOT) -> int:  # noqa: N802 (Qt)
        return 0 if parent.isValid() else len(self.headers)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.headers[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        r = self.shown[index.row()]
        value = self.rows[r][index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            if isinstance(value, int):
                return "" if value == 0 and index.column() in self.blank_zero else f"{value:,}"
            return value or ""
        if role == Qt.ItemDataRole.TextAlignmentRole and isinstance(value, int):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.BackgroundRole:
            if r in self.highlight:
                return QBrush(CURRENT_BACKGROUND)
            if r in self.marked:
                return QBrush(SPECIAL_BACKGROUND)
        if role == Qt.ItemDataRole.ToolTipRole and self.tips:
            return self.tips[r]
        return None

    def row_of(self, source_row: int) -> int | None:
        """The shown row of ``rows[source_row]`` (None when filtered out)."""
        try:
            return self.shown.index(source_row)
        except ValueError:
            return None


def make_table(model: RowsModel) -> QTableView:
    table = QTableView()
    table.setModel(model)
    table.setAlternatingRowColors(True)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 8)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(True)
    return table


class VocabularyView(QWidget):
    """Every vocabulary entry: id, piece (whitespace made visible), special, count."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tok: Tokenizer | None = None
        self.model = RowsModel(["id", "piece", "special", "count"])
        self.model.blank_zero = {3}
        self.table = make_table(self.model)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.setMinimumWidth(260)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search pieces (or an id)…")
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip("Shows the pieces that contain this text, or the piece with "
                               "this id; 'special' shows the special tokens")
        self.used_box = QCheckBox("in the text only")
        self.used_box.setToolTip("Show only the pieces the current text uses")
        self.table.setToolTip("count: how often the piece occurs in the current text")
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        row = QHBoxLayout()
        row.addWidget(self.search, 1)
        row.addWidget(self.used_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addLayout(row)
        layout.addWidget(self.table, 1)
        self._filter_timer = QTimer(self, singleShot=True, interval=150)
        self._filter_timer.timeout.connect(self.apply_filter)
        self.search.textChanged.connect(lambda _t: self._filter_timer.start())
        self.used_box.toggled.connect(lambda _on: self.apply_filter())

    def set_tokenizer(self, tok: Tokenizer, counts: Counter) -> None:
        self._tok = tok
        ids = list(range(tok.vocab_size))
        raw = [tok.id_to_token(i) or "" for i in ids]
        shown = tok.token_strings(ids)
        rows, tips = [], []
        for i, r, s in zip(ids, raw, shown):
            name = tok.special_name(i) or ""
            piece = s if name else visible_token(s)
            rows.append((i, piece, name, counts.get(i, 0), r))
            tips.append(f"id {i}: stored as {r!r}" + (f" · the {name} token" if name else ""))
        self.model.set_rows(rows, tips)
        self.model.marked = {i for i in ids if rows[i][2]}
        self.summary.setText(_summary(tok))
        self.summary.setToolTip("<br>".join(
            f"{name}: id {i}, written {escape(tok.id_to_token(i) or '')}"
            for name, i in sorted(tok.special_ids.items(), key=lambda kv: kv[1])))
        self.apply_filter()

    def set_counts(self, counts: Counter) -> None:
        rows = self.model.rows
        self.model.rows = [(*r[:3], counts.get(r[0], 0), r[4]) for r in rows]
        self.apply_filter()

    def apply_filter(self) -> None:
        needle = self.search.text().strip()
        used = self.used_box.isChecked()
        low = needle.lower()

        def keep(r: tuple) -> bool:
            if used and not r[3]:
                return False
            if not needle:
                return True
            if needle.isdigit() and r[0] == int(needle):
                return True
            if low == "special":
                return bool(r[2])
            return low in r[1].lower() or needle in r[4] or (r[2] and low in r[2])

        self.model.set_filter(keep if (needle or used) else None)


def _summary(tok: Tokenizer) -> str:
    specials = sorted(tok.special_ids.items(), key=lambda kv: kv[1])
    by_id: dict[int, list[str]] = {}
    for name, i in specials:
        by_id.setdefault(i, []).append(name)
    named = ", ".join(f"<b>{'/'.join(names)}</b> = {i}" for i, names in by_id.items())
    head = f"<b>{tok.vocab_size:,}</b> pieces (N<sub>V</sub>)"
    return f"{head} · specials: {named}" if named else f"{head} · no special tokens"




def bold(font: QFont) -> QFont:
    f = QFont(font)
    f.setBold(True)
    return f
