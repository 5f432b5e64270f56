"""Tabs built after torch is loaded: attention views, output distribution, training.

Each is optional: a panel whose module is missing is simply not added.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QFrame, QScrollArea, QWidget

if TYPE_CHECKING:
    from explorer.ui.main_window import MainWindow


def scrollable(widget: QWidget) -> QScrollArea:
    """``widget`` in a scroll area, so its minimum size never forces the window larger."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(widget)
    return area


def add_optional_panels(window: MainWindow) -> None:
    _add_train(window)


def _add_train(window: MainWindow) -> None:
    try:
        from explorer.ui.train_panel import TrainPanel
    except ImportError:
        return
    panel = TrainPanel()
    window.train_panel = panel
    window.add_panel("Train", scrollable(panel), "Train a small model live (Algorithms "
                     "11-13) and watch every view follow its weights")
    panel.weights_updated.connect(lambda snap: _on_weights(window, snap))
    panel.error_occurred.connect(window.show_error)


def _on_weights(window: MainWindow, snapshot: Any) -> None:
    """Show the model being trained: the inspector re-renders with the new weights."""
    if window.session is None:
        return
    from explorer.state import LoadedModel

    label = f"training: step {snapshot.step} ({snapshot.task})"
    window._on_model_loaded(LoadedModel(snapshot.model, snapshot.tokenizer, label, "training"))
