"""Scroll helpers: keep a panel's minimum size from forcing the window larger."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QScrollArea, QWidget


def scrollable(widget: QWidget) -> QScrollArea:
    """``widget`` in a frameless scroll area that resizes it to fit when there is room."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(widget)
    return area


def unwrap(widget: QWidget) -> QWidget:
    """The widget inside a scroll area (or the widget itself)."""
    while isinstance(widget, QScrollArea) and widget.widget() is not None:
        widget = widget.widget()
    return widget
