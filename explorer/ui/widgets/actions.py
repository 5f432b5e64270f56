"""One way to make an action, for every menu, toolbar, presentation and scene command."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

# Keys a feature handles itself, which the window's F1 lists too (the window imports no
# feature room before its first paint).
ABLATE_KEY = Qt.Key.Key_X  # zero-ablates the selected head in the Attention tab's grid


def make_action(owner: QWidget, text: str, slot: Callable | None = None,
                keys: Any = None, tip: str = "",
                checkable: bool = False) -> QAction:
    """A ``QAction`` owned by ``owner`` and added to it, so its shortcut works anywhere in
    the window: ``keys`` one key sequence (a string or ``QKeySequence.StandardKey``) or a
    list of them, ``tip`` the tooltip and status tip
    (default: ``text``), ``slot`` connected to ``triggered``."""
    action = QAction(text, owner)
    if keys:
        seqs = keys if isinstance(keys, (list, tuple)) else [keys]
        action.setShortcuts([QKeySequence(k) for k in seqs])
    action.setToolTip(tip or text)
    action.setStatusTip(tip or text)
    action.setCheckable(checkable)
    if slot is not None:
        action.triggered.connect(slot)
    owner.addAction(action)
    return action
