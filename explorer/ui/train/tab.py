"""The Train tab: the ``TrainPanel`` wired to the window through the panel protocol. Each
weights snapshot of a run goes to the inspector, so every view follows the training; a
user who picks another model while it runs is asked whether to stop the run first."""

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
        self.following = False  # the inspector shows the run's weights as it trains
        self.view.weights_updated.connect(self._on_weights)
        self.view.training_started.connect(self._on_started)
        self.view.close_ready.connect(self._close_window)

    def attach(self, host: PanelHost) -> None:
        super().attach(host)
        self.view.error_occurred.connect(host.show_error)

    def _on_started(self) -> None:
        self.following = True

    def _on_weights(self, snapshot: Any) -> None:
        """Show the model being trained: the inspector re-renders with the new weights."""
        if not self.following or self.host is None or self.host.session is None:
            return
        from explorer.state import LoadedModel

        label = f"training: step {snapshot.step} ({snapshot.task})"
        self.host.show_model(LoadedModel(snapshot.model, snapshot.tokenizer, label,
                                         "training"))

    def may_replace_model(self, what: str) -> bool:
        """The user chose another model while the views follow a run: stop it (saved) and
        show the new model, or keep the run and the model it shows."""
        if not (self.following and self.view.is_training()):
            return True
        if not self.view._ask("Training is running",
                              f"The views follow the training run. Stop it (the run is "
                              f"saved) and show {what}?"):
            return False
        self.following = False
        self.view.stop()
        return True

    def confirm_close(self) -> bool:
        return self.view.confirm_close()

    def _close_window(self) -> None:
        self.view.window().close()
