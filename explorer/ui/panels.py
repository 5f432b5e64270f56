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
    _add_attention(window)
    _add_output(window)
    _add_inference(window)
    _add_train(window)


def attention_prefix(step: Any) -> str | None:
    """``blocks.1.attn`` for a step inside an attention (self or cross), else None."""
    if step is None or step.block not in ("attn", "cross_attn") or step.layer is None:
        return None
    prefix = step.name.rpartition(".")[0]
    return prefix if prefix.endswith(("attn", "cross_attn")) else None


class AttentionTab:
    """Feeds the attention views each new trace; follows the stepped-to head both ways."""

    def __init__(self, window: MainWindow, panel: Any) -> None:
        self.window, self.panel = window, panel
        panel.head_selected.connect(self._on_head_selected)

    def refresh(self, session: Any) -> None:
        x_labels, z_labels = session.trace_inputs
        self.panel.set_trace(session.trace, x_labels, z_labels)
        self.refresh_selection(session)

    def refresh_selection(self, session: Any) -> None:
        prefix = attention_prefix(session.step)
        if prefix is None:
            return
        wanted = (prefix, session.step.layer, session.head)
        if self.panel.current != wanted:
            try:
                self.panel.select(*wanted)
            except KeyError:
                pass  # the trace does not record this attention's pattern

    def _on_head_selected(self, prefix: str, layer: int, head: int) -> None:
        session = self.window.session
        if session is None:
            return
        session.select_name(f"{prefix}.pattern")
        session.select_head(head)


class OutputTab:
    """Feeds the output distribution view the logits of each new trace."""

    def __init__(self, panel: Any) -> None:
        self.panel = panel

    def refresh(self, session: Any) -> None:
        from explorer.ui.step_data import vocabulary

        trace = session.trace
        if "logits" not in trace:
            self.panel.clear("This model has no token output (a classifier): see the "
                             "class probabilities step.")
            return
        logits = trace["logits"][0]
        names = vocabulary(session.tokenizer, int(logits.shape[-1]))
        title = None
        if session.arch == "encoder":
            title = "Token distribution P[:, t] at a position (a masked-token model)"
        self.panel.set_logits(logits, names, session.trace_inputs[0], title)

    def refresh_selection(self, session: Any) -> None:
        """The output view does not follow the step (it has its own position)."""


def _add_attention(window: MainWindow) -> None:
    try:
        from explorer.ui.attention_views import AttentionPanel
    except ImportError:
        return
    panel = AttentionPanel()
    tab = AttentionTab(window, panel)
    window.attention_panel = panel
    window.add_panel("Attention", scrollable(panel),
                     "One head's pattern with the mask, token-to-token lines, and every "
                     "head of every layer (click one to open it)")
    window.trace_views.append(tab)
    window.selection_views.append(tab)
    if window.session is not None and window.session.trace is not None:
        tab.refresh(window.session)


def _add_output(window: MainWindow) -> None:
    try:
        from explorer.ui.output_view import OutputDistributionWidget
    except ImportError:
        return
    panel = OutputDistributionWidget()
    window.output_panel = panel
    window.add_panel("Output", scrollable(panel),
                     "The output distribution at a position as ranked bars, with a "
                     "temperature slider (Algorithm 14: p^(1/τ))")
    tab = OutputTab(panel)
    window.trace_views.append(tab)
    if window.session is not None and window.session.trace is not None:
        tab.refresh(window.session)


def _add_inference(window: MainWindow) -> None:
    try:
        from explorer.ui.inference_panel import InferencePanel, InferenceTab
    except ImportError:
        return
    panel = InferencePanel()
    window.inference_panel = panel
    window.add_panel("Infer", scrollable(panel),
                     "Run the model: a decoder continues a prompt (Algorithm 14), an "
                     "encoder-decoder translates (Algorithm 15), an encoder fills masks "
                     "or classifies")
    tab = InferenceTab(window, panel)
    window.inference_tab = tab
    window.trace_views.append(tab)


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
