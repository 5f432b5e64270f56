"""The Infer tab: the ``InferencePanel`` wired to the window through the panel protocol
(its model, the typed texts, and the inspector following a generated text)."""

from __future__ import annotations

from typing import Any

from explorer.ui.infer.panel import InferencePanel
from explorer.ui.widgets.panel import Panel, PanelHost


class InferenceTab(Panel):
    title = "Infer"
    tooltip = ("Run the model: a decoder continues a prompt (Algorithm 14), an "
               "encoder-decoder translates (Algorithm 15), an encoder fills masks or "
               "classifies")

    def __init__(self) -> None:
        super().__init__(InferencePanel())
        self.view.text_generated.connect(self._on_text_generated)

    def attach(self, host: PanelHost) -> None:
        super().attach(host)
        self.view.set_sources(lambda: host.input_texts()[0], lambda: host.input_texts()[1])
        if host.session is not None:
            self.model_changed(host.session)

    def model_changed(self, session: Any) -> None:
        self.view.set_model(session.model, session.tokenizer)

    def text_edited(self) -> None:
        self.view.text_edited()

    def _on_text_generated(self, text: str) -> None:
        if self.host is not None:
            self.host.set_input_text(text)
