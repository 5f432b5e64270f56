"""Every step of the forward pass as a tree: groups (embedding, each layer, output), steps."""

from __future__ import annotations

import re
from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QTreeWidget, QTreeWidgetItem, QWidget

from explorer.ui.widgets.typeset import TypesetDelegate, escape, notation_font, typeset

INDEX_ROLE = Qt.ItemDataRole.UserRole


def short_title(title: str) -> str:
    """The step's title without its layer prefix (the group says it)."""
    parts = title.split(" · ")
    return " · ".join(parts[1:]) if len(parts) > 1 else title


def list_title(title: str) -> str:
    """A title short enough for the list's default width: no layer prefix, "self ·" and
    "cross ·" for the two attentions, no "= …" or "(…)" tail (the tooltip and the Step view
    have the whole title and formula)."""
    text = short_title(title)
    text = text.replace("self-attention · ", "self · ").replace("cross-attention · ", "cross · ")
    text = text.replace("attention pattern softmax(S/√d_attn)", "pattern A")
    text = re.sub(r" = .*$", "", text)
    text = re.sub(r" \([^()]*\)$", "", text)
    return text


class StepListWidget(QTreeWidget):
    """The step-through as a tree; emits ``step_selected(index)`` on a click or Enter."""

    step_selected = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setHeaderHidden(True)
        self.setColumnCount(1)
        self.setRootIsDecorated(True)
        self.setUniformRowHeights(True)
        self.setFont(notation_font(self.font()))
        self.setItemDelegate(TypesetDelegate(self))
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setToolTip("Every step of the forward pass, in execution order. Click one to "
                        "show it; ← → step, PageUp/PageDown jump a layer, 1-9 go to a layer.")
        self._names: tuple[str, ...] = ()
        self._items: list[QTreeWidgetItem] = []
        self.itemClicked.connect(self._on_item_clicked)
        self.itemActivated.connect(self._on_item_clicked)
        self.currentItemChanged.connect(self._on_current_changed)

    def set_steps(self, steps: Sequence) -> None:
        """Rebuild the tree when the step names changed (a new model); else keep it."""
        names = tuple(s.name for s in steps)
        if names == self._names:
            return
        from explorer.state.navigation import group_key, group_title

        self._names = names
        self.clear()
        self._items = []
        parent: QTreeWidgetItem | None = None
        key = None
        for i, step in enumerate(steps):
            if group_key(step) != key:
                key = group_key(step)
                parent = QTreeWidgetItem([group_title(step)])
                font = parent.font(0)
                font.setBold(True)
                parent.setFont(0, font)
                parent.setData(0, INDEX_ROLE, i)
                self.addTopLevelItem(parent)
            item = QTreeWidgetItem([list_title(step.title)])
            item.setData(0, INDEX_ROLE, i)
            item.setToolTip(0, "<qt>" + "<br>".join((
                f"<b>{typeset(step.title)}</b>", "shape " + typeset(step.shape),
                typeset(step.formula),
                escape(f"Algorithm {step.algorithm}, line {step.line}"))) + "</qt>")
            parent.addChild(item)
            self._items.append(item)
        self.expandAll()

    def set_current(self, index: int) -> None:
        if not 0 <= index < len(self._items):
            return
        item = self._items[index]
        if self.currentItem() is not item:
            self.blockSignals(True)
            self.setCurrentItem(item)
            self.blockSignals(False)
        self.scrollToItem(item)

    def _on_item_clicked(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        index = item.data(0, INDEX_ROLE)
        if index is not None:
            self.step_selected.emit(int(index))

    def _on_current_changed(self, current: QTreeWidgetItem | None, _previous=None) -> None:
        if current is not None and current.childCount() == 0:
            self._on_item_clicked(current)
