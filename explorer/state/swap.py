"""Replacing what the session shows: another model, or new weights of the same one. Qt-free.

``Session`` inherits this mixin. Two events, because a weight update is not a new model:

- ``set_weights(loaded, step)``: the same model (``same_model``: an equal ``ModelConfig``
  and the same vocabulary) with new weights, as training makes them. The text, context,
  chunks, selected step and head, interventions, text B and every view's state are kept;
  ``weights_changed`` is emitted and the next recording (with the interventions applied)
  shows the new weights.
- ``set_model(loaded)``: another model (another folder, architecture, size or
  tokenizer). The text and text B are kept and encoded again; the interventions are
  removed (they name the previous model's layers and heads: even a head of the same
  number is another network's), and ``model_note`` says so on the status line until the
  user next edits the text or the interventions. ``model_changed`` is emitted.
"""

from __future__ import annotations

from typing import Any

from explorer.state.defaults import LoadedModel, default_text


def same_vocabulary(a: Any, b: Any) -> bool:
    """Whether two tokenizers turn every text into the same ids (the same object, or the
    same kind, special tokens and vocabulary)."""
    if a is b:
        return True
    if getattr(a, "kind", None) != getattr(b, "kind", None) or \
            getattr(a, "vocab_size", None) != getattr(b, "vocab_size", None) or \
            getattr(a, "special_ids", None) != getattr(b, "special_ids", None):
        return False
    hf_a, hf_b = getattr(a, "hf", None), getattr(b, "hf", None)
    if hf_a is None or hf_b is None:
        return False
    return hf_a.get_vocab(with_added_tokens=True) == hf_b.get_vocab(with_added_tokens=True)


def same_model(a: LoadedModel, b: LoadedModel) -> bool:
    """Whether ``b`` is ``a`` with other weights: the same model class and ``ModelConfig``
    (architecture, sizes, variants) and the same vocabulary."""
    return (type(a.model) is type(b.model) and a.model.cfg == b.model.cfg
            and same_vocabulary(a.tokenizer, b.tokenizer))


class ModelSwapMixin:
    """What ``Session`` does when the model or its weights are replaced (see the module
    docstring)."""

    def _init_swap(self) -> None:
        self.model_note = ""  # what the last model change removed, said until the next edit
        self.weights_step: int | None = None  # the training step of the weights, if known

    def same_model(self, loaded: LoadedModel) -> bool:
        """Whether ``loaded`` is the model shown with other weights (``set_weights``)."""
        return same_model(self.loaded, loaded)

    def set_weights(self, loaded: LoadedModel, step: int | None = None) -> None:
        """Show new weights of the same model (``step``: the training step they are from).
        Everything else is kept; the trace is recorded again, with the interventions.
        ValueError when ``loaded`` is another model (use ``set_model``)."""
        if not self.same_model(loaded):
            raise ValueError("these weights belong to another model (another configuration "
                             "or vocabulary): show it with set_model")
        self.loaded = loaded
        self.weights_step = step
        self.generation += 1  # a trace on its way was recorded with the old weights
        self.weights_changed.emit()

    def set_model(self, loaded: LoadedModel) -> None:
        """Show another model; the text and context are kept and re-encoded (a text still
        at the previous architecture's default becomes the new one's default). The
        interventions are removed, and ``model_note`` says how many."""
        if loaded.model.cfg.arch != self.arch and self.text == default_text(self.arch):
            self.text = default_text(loaded.model.cfg.arch)
        self.loaded = loaded
        self.weights_step = None
        if self.step is not None:
            self._wanted_step = self.step.name
        self.trace, self.logits, self.clean_logits = None, None, None
        removed = len(self.interventions)
        self.drop_interventions()  # they name the previous model's layers and heads
        self.model_note = (f"New model: {removed} intervention{'s' if removed != 1 else ''} "
                           "removed (they named the previous model's layers and heads)."
                           if removed else "")
        self.step_index = 0
        self.head = min(self.head, self.n_heads - 1)
        self.encoded = self.encode(self.text)
        self.encoded_context = self.encode_context()
        self.chunk = min(self.chunk, self.encoded.n_chunks - 1) if self.encoded.chunks else 0
        self.context_chunk = 0
        self.generation += 1
        if self.model_note:
            self.say(self.model_note)
        self.model_changed.emit()
        if removed:
            self.interventions_changed.emit()
        self.inputs_changed.emit()
