"""The Train tab: the ``TrainPanel`` wired to the window through the panel protocol. Each
weights snapshot of a run goes to the inspector, so every view follows the training."""

from __future__ import annotations

from typing import Any

from explorer.ui.train.panel import TrainPanel
from explorer.ui.widgets.panel import Panel, PanelHost


class TrainTab(Panel):
    title = "Train"
    tooltip = ("Train a small model live (Algorithms 11-13) and watch every view follow its "
               "weights")

    def __init__(self, panel: TrainPanel | None = None) -> None:
        super().__init__(panel if panel is not None else TrainPanel())
        self.view.weights_updated.connect(self._on_weights)

    def attach(self, host: PanelHost) -> None:
        super().attach(host)
        self.view.error_occurred.connect(host.show_error)

    def _on_weights(self, snapshot: Any) -> None:
        """Show the model being trained: the inspector re-renders with the new weights."""
        if self.host is None or self.host.session is None:
            return
        from explorer.state import LoadedModel

        label = f"training: step {snapshot.step} ({snapshot.task})"
        self.host.show_model(LoadedModel(snapshot.model, snapshot.tokenizer, label,
                                         "training"))

    def confirm_close(self) -> bool:
        return self.view.confirm_close()
