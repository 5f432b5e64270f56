"""The "Infer" tab: run the loaded model the way its architecture is used.

- a decoder continues a prompt (Algorithm 14, DInference), one token per timer tick;
- an encoder-decoder writes x from bos given the context z (Algorithm 15, EDInference),
  with each new token's cross-attention over the context tokens growing as a matrix;
- a masked encoder fills ``[MASK]`` / ``<mask>`` / ``_`` (Algorithm 9);
- an encoder with a class head shows P(c | x) of the window's text as it is typed.

``InferencePanel`` knows nothing of the window: ``set_model(model, tokenizer)``, texts
from the ``text_source`` / ``context_source`` callables, and ``text_generated(str)`` when
the inspector should follow. ``explorer.ui.infer.tab.InferenceTab`` wires it to the
window.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QLabel,
    QVBoxLayout,
    QWidget,
)

from explorer.ui.infer.controls import MODES, inference_mode
from explorer.ui.infer.encoder import ClassifyWidget, FillMaskWidget
from explorer.ui.infer.generate import GenerateWidget
from explorer.ui.widgets.style import scaled_font


class InferencePanel(QWidget):
    """The mode that fits the loaded model, with a header naming its algorithm."""

    text_generated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFont(scaled_font(self, 1.1))
        self.mode = ""
        self.title = QLabel("No model yet")
        self.title.setFont(scaled_font(self, 1.35, bold=True))
        self.title.setWordWrap(True)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setFont(scaled_font(self, 1.1))
        self.message.setStyleSheet("background: #fff3cd; color: #5c4400; padding: 6px; "
                                   "border: 1px solid #e0c36a;")
        self.message.hide()
        self.generator = GenerateWidget()
        self.fill_mask = FillMaskWidget()
        self.classifier = ClassifyWidget()
        self.pages = (self.generator, self.fill_mask, self.classifier)
        for w in self.pages:  # only the current one is shown (and sizes the panel)
            w.hide()
            w.message_shown.connect(self.show_message)
        self.generator.text_generated.connect(self.text_generated)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.title)
        layout.addWidget(self.summary)
        layout.addWidget(self.message)
        for w in self.pages:
            layout.addWidget(w, 1)

    def set_sources(self, text: Callable[[], str], context: Callable[[], str]) -> None:
        """Where the window's text x and context z are read from."""
        self.generator.text_source = text
        self.generator.context_source = context
        self.classifier.text_source = text
        self._text = text

    def set_model(self, model: Any, tokenizer: Any) -> None:
        """Show the mode of ``model`` (its own copy runs here; the weights are shared)."""
        from explorer.state.generation import shared_weights_copy

        self.show_message("")
        model = shared_weights_copy(model)
        self.mode = inference_mode(model.cfg)
        title, summary = MODES[self.mode]
        self.title.setText(title)
        self.summary.setText(summary)
        self.shutdown()  # no timer of the previous mode fires with the previous model
        if self.mode in ("decoder", "encoder-decoder"):
            self.generator.set_model(model, tokenizer)
            self._show_page(self.generator)
        elif self.mode == "fill-mask":
            self.fill_mask.set_model(model, tokenizer, getattr(self, "_text", lambda: "")())
            self._show_page(self.fill_mask)
        else:
            self.classifier.set_model(model, tokenizer)
            self._show_page(self.classifier)

    def _show_page(self, page: QWidget) -> None:
        for w in self.pages:
            w.setVisible(w is page)

    @property
    def current(self) -> QWidget | None:
        """The shown mode's widget."""
        return next((w for w in self.pages if not w.isHidden()), None)

    def text_edited(self) -> None:
        """The window's text changed (the classifier follows it)."""
        if self.mode == "classify":
            self.classifier.text_edited()

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def shutdown(self) -> None:
        for w in (self.generator, self.fill_mask, self.classifier):
            w.shutdown()
