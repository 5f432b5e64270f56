"""The session the window shows: model, tokenizer, text, trace and selection. Qt-free.

Changes are announced with psygnal signals (past tense). The forward pass is split so a
UI can run it off its GUI thread::

    request = session.request()          # GUI thread: a snapshot of model and input ids
    result = run_request(request)        # any thread: record the trace
    session.apply(result)                # GUI thread: stale results are ignored

``session.record_now()`` does all three at once (notebooks, tests, the command line).

A request carries the trace shown so far: for a decoder, an edit that keeps the first
tokens computes only the positions from the first changed token on and splices them
into it (``explorer.trace.record_edit``); the result equals a full recording.

A weight update is not a new model: ``set_weights`` (training's snapshots) keeps the text,
selection, interventions and text B and emits ``weights_changed``; ``set_model`` replaces
the model, removes the interventions and says so (``explorer.state.swap``).
"""

from __future__ import annotations

from typing import Any

import torch
from psygnal import Signal

from explorer.state import navigation
from explorer.state.compare import SecondInput
from explorer.state.defaults import DEFAULT_CONTEXT, DEFAULT_TEXT, LoadedModel
from explorer.state.inputs import MAX_TEXT, EncodedText, encode_text, input_roles
from explorer.state.interventions import InterventionsMixin
from explorer.state.recording import (
    TraceLogits,
    TraceRequest,
    TraceResult,
    nonfinite_note,
    run_request,
)
from explorer.state.swap import ModelSwapMixin
from explorer.trace import Step, Trace
from explorer.trace.norm_inside import NormInside, norm_inside

__all__ = ["MAX_TEXT", "Session", "TraceRequest", "TraceResult", "run_request"]


class Session(ModelSwapMixin, InterventionsMixin):
    """Everything the window shows, and the operations that change it (the active
    interventions: ``explorer.state.interventions``; another model or new weights:
    ``explorer.state.swap``)."""

    model_changed = Signal()  # model, tokenizer or architecture replaced
    weights_changed = Signal()  # the same model with new weights (training): all else kept
    inputs_changed = Signal()  # text, context or chunk changed (tokens are new)
    trace_changed = Signal()  # a new trace was recorded
    selection_changed = Signal()  # step, head or chunk selection moved
    message_changed = Signal(str)  # a sentence for the status line ("" clears it)
    logits = TraceLogits()

    def __init__(self, loaded: LoadedModel, text: str = DEFAULT_TEXT,
                 context: str = DEFAULT_CONTEXT) -> None:
        self.loaded = loaded
        self.message = ""
        self._length_warnings: dict[str, str] = {}
        self._inside_cache: tuple[tuple[int, str], NormInside] | None = None
        self.text = self._check_length("text", text)
        self.context = self._check_length("context", context)
        self.chunk = 0
        self.context_chunk = 0
        self.trace: Trace | None = None
        self._logits: torch.Tensor | None = None
        self.trace_inputs: tuple[tuple[str, ...], tuple[str, ...] | None] = ((), None)
        self.step_index = 0
        self.head = 0
        self.generation = 0
        self._wanted_step: str | None = None  # kept across a model change
        self.last_seconds = 0.0
        self.encoded: EncodedText = self.encode(text)
        self.encoded_context: EncodedText | None = self.encode_context()
        self._init_interventions()
        self._init_swap()
        self.compare = SecondInput(self)  # the text B views compare A with ("" = none)

    # -- what is loaded ------------------------------------------------------------------
    @property
    def model(self) -> Any:
        return self.loaded.model

    @property
    def tokenizer(self) -> Any:
        return self.loaded.tokenizer

    @property
    def cfg(self):
        return self.loaded.model.cfg

    @property
    def arch(self) -> str:
        return self.cfg.arch

    @property
    def x_role(self) -> str:
        """How the text is fed: "decoder", "encoder", "raw", "cls" (``input_roles``)."""
        return input_roles(self.cfg)[0]

    def encode(self, text: str, role: str | None = None) -> EncodedText:
        """``text`` as this model is fed it (default: as the text x), in chunks of ℓ_max."""
        return encode_text(self.tokenizer, text, role or self.x_role, int(self.cfg.l_max))

    def encode_context(self) -> EncodedText | None:
        """The context z as the encoder is fed it; None for a one-stack model."""
        if self.arch != "encoder-decoder":
            return None
        return self.encode(self.context, input_roles(self.cfg)[1] or "encoder")

    # -- inputs --------------------------------------------------------------------------
    def _check_length(self, which: str, text: str) -> str:
        """``text`` cut to ``MAX_TEXT``; the warning about it stays (in ``message``, also
        after each trace) until that box's text fits again."""
        warning = ""
        name = "The text" if which == "text" else "The context z"
        if len(text) == MAX_TEXT:  # a longer paste is cut here (``TextBox``)
            warning = (f"{name} is at the limit: the window reads at most {MAX_TEXT:,} "
                       "characters, and a longer paste is cut there.")
        elif len(text) > MAX_TEXT:
            warning = (f"{name} has {len(text):,} characters; the window reads at most "
                       f"{MAX_TEXT:,}. Only the first {MAX_TEXT:,} are used.")
        if warning != self._length_warnings.get(which, ""):
            self._length_warnings[which] = warning
            self._say(self.input_warning)
        return text[:MAX_TEXT]

    @property
    def input_warning(self) -> str:
        """What stays said about the inputs while they are as they are (too long)."""
        return " ".join(w for w in self._length_warnings.values() if w)

    def set_text(self, text: str) -> None:
        text = self._check_length("text", text)
        if text == self.text:
            return
        self.text = text
        self.model_note = ""
        self.encoded = self.encode(text)
        self.chunk = min(self.chunk, max(0, self.encoded.n_chunks - 1))
        self.generation += 1
        self.inputs_changed.emit()

    def set_context(self, text: str) -> None:
        text = self._check_length("context", text)
        if text == self.context:
            return
        self.context = text
        self.model_note = ""
        self.encoded_context = self.encode_context()
        if self.encoded_context is not None:
            self.context_chunk = min(self.context_chunk,
                                     max(0, self.encoded_context.n_chunks - 1))
        self.generation += 1
        self.inputs_changed.emit()

    def set_chunk(self, index: int, context: bool = False) -> None:
        enc = self.encoded_context if context else self.encoded
        if enc is None or not enc.chunks:
            return
        index = max(0, min(enc.n_chunks - 1, int(index)))
        if index == (self.context_chunk if context else self.chunk):
            return
        if context:
            self.context_chunk = index
        else:
            self.chunk = index
        self.generation += 1
        self.inputs_changed.emit()

    @property
    def x_labels(self) -> tuple[str, ...]:
        return self.encoded.chunks[self.chunk].labels if self.encoded.chunks else ()

    @property
    def z_labels(self) -> tuple[str, ...] | None:
        enc = self.encoded_context
        if enc is None:
            return None
        return enc.chunks[self.context_chunk].labels if enc.chunks else ()

    def input_note(self) -> str:
        """What is being fed, said plainly (chunking, empty text, special tokens)."""
        parts = []
        if not self.text:
            parts.append("The text is empty: only the special tokens are fed.")
        elif self.encoded.n_tokens == 0:  # whitespace a word-level tokenizer drops
            parts.append("The text gives no tokens (this tokenizer drops whitespace): only "
                         "the special tokens are fed.")
        parts.append(f"Text: {self.encoded.describe(self.chunk)}")
        if self.encoded_context is not None:
            parts.append(f"Context z: {self.encoded_context.describe(self.context_chunk)}")
        return " · ".join(parts)

    # -- recording -----------------------------------------------------------------------
    def request(self) -> TraceRequest | None:
        """A snapshot for ``run_request``; None (with a message) when there is nothing to feed."""
        if not self.encoded.chunks:
            self._say("Type some text: this tokenizer has no start token to feed on its own.")
            return None
        x = self.encoded.chunks[self.chunk].ids
        z = None
        if self.encoded_context is not None:
            if not self.encoded_context.chunks:
                self._say("Type a context z for the encoder.")
                return None
            z = self.encoded_context.chunks[self.context_chunk].ids
        return TraceRequest(self.generation, self.model, x, z, self.trace,
                            self.active_interventions)

    def apply(self, result: TraceResult) -> bool:
        """Take a recorded trace; False (and nothing changes) when it is stale or failed."""
        if result.generation != self.generation:
            return False
        if result.error is not None or result.trace is None:
            self._say(f"The model could not run on this input: {result.error}")
            return False
        old = self.step.name if self.step is not None else self._wanted_step
        self._wanted_step = None
        self.trace, self.logits = result.trace, result.logits
        self.clean_logits = result.clean_logits
        self.trace_inputs = (self.x_labels, self.z_labels)
        self.last_seconds = result.seconds
        names = [s.name for s in self.trace.steps]
        self.step_index = names.index(old) if old in names else min(self.step_index,
                                                                      len(names) - 1)
        self.head = min(self.head, self.n_heads - 1)
        self._say(" ".join(m for m in (self.input_warning, self.model_note,
                                        nonfinite_note(self.trace, self._logits)) if m))
        self.trace_changed.emit()
        return True

    @property
    def clean_logits(self) -> torch.Tensor | None:
        """The logits of the run without interventions (the trace's own without any)."""
        return self._clean_logits if self._clean_logits is not None else self.logits

    @clean_logits.setter
    def clean_logits(self, value: torch.Tensor | None) -> None:
        self._clean_logits = value

    def record_now(self) -> bool:
        """Record the trace on this thread (no UI)."""
        request = self.request()
        return request is not None and self.apply(run_request(request))

    # -- selection -----------------------------------------------------------------------
    @property
    def steps(self) -> list[Step]:
        return self.trace.steps if self.trace is not None else []

    @property
    def step(self) -> Step | None:
        steps = self.steps
        return steps[self.step_index] if steps else None

    @property
    def n_heads(self) -> int:
        """Heads of the selected step's stack (Algorithm 8's stacks may differ)."""
        step = self.step
        return int(self.cfg.stack_sizes(step.stack if step is not None else None)["n_heads"])

    @property
    def kv_groups(self) -> list[list[int]]:
        """For each key/value head of the selected step's stack, the query heads (0-based)
        that share it: one head each, unless the model uses grouped-query attention."""
        step = self.step
        return self.cfg.kv_groups(step.stack if step is not None else None)

    @property
    def kv_note(self) -> str:
        """Which query heads share each key/value head (grouped-query attention, not in the
        paper), in the paper's 1-based numbering; "" when every head has its own."""
        groups = self.kv_groups
        if all(len(g) == 1 for g in groups):
            return ""
        parts = [f"K/V head {k + 1} ← query heads {g[0] + 1}–{g[-1] + 1}"
                 if len(g) > 1 else f"K/V head {k + 1} ← query head {g[0] + 1}"
                 for k, g in enumerate(groups)]
        return "grouped-query attention (not in the paper): " + "; ".join(parts)

    def select_step(self, index: int) -> None:
        steps = self.steps
        if not steps:
            return
        index = navigation.clamp(int(index), steps)
        if index != self.step_index:
            self.step_index = index
            self.head = min(self.head, self.n_heads - 1)  # the stacks' head counts may differ
            self.selection_changed.emit()

    def select_name(self, name: str) -> bool:
        names = [s.name for s in self.steps]
        if name not in names:
            return False
        self.select_step(names.index(name))
        return True

    def step_by(self, delta: int) -> None:
        self.select_step(self.step_index + delta)

    def first_step(self) -> None:
        self.select_step(0)

    def last_step(self) -> None:
        self.select_step(len(self.steps) - 1)

    def next_group(self) -> None:
        if self.steps:
            self.select_step(navigation.next_group(self.steps, self.step_index))

    def prev_group(self) -> None:
        if self.steps:
            self.select_step(navigation.prev_group(self.steps, self.step_index))

    def jump_to_layer(self, number: int) -> bool:
        """Go to 1-based layer ``number``; False (with a message) if there is none."""
        if not self.steps:
            return False
        index = navigation.layer_start(self.steps, number - 1, self.step_index)
        if index is None:
            layers = max((s.layer for s in self.steps if s.layer is not None), default=-1) + 1
            self._say(f"This model has {layers} layer{'s' if layers != 1 else ''}; "
                      f"there is no layer {number}.")
            return False
        self.select_step(index)
        return True

    def norm_inside(self, name: str | None = None) -> NormInside:
        """Algorithm 6's inside (m, v, normalised X, result) of norm step ``name`` (default:
        the selected step) of the current trace, computed once per trace and step.
        ValueError (a sentence) for a step that is not a norm."""
        name = name if name is not None else (self.step.name if self.step else "")
        key = (id(self.trace), name)
        if self._inside_cache is None or self._inside_cache[0] != key:
            if self.trace is None:
                raise ValueError("no trace yet")
            self._inside_cache = (key, norm_inside(self.model, self.trace, name))
        return self._inside_cache[1]

    def jump_to_next(self, target: str) -> bool:
        """Go to the next step that is ``target`` (``navigation.JUMPS``: "attention",
        "mlp", "output", "tokens"), wrapping round; False (with a message) if none."""
        if not self.steps:
            return False
        index = navigation.next_of(self.steps, self.step_index, target)
        if index is None:
            self._say(f"This model has no {navigation.JUMPS[target]} step.")
            return False
        self.select_step(index)
        return True

    def jump_to_line(self, algorithm: int, line: int) -> bool:
        if not self.steps:
            return False
        index = navigation.line_step(self.steps, algorithm, line, self.step_index)
        if index is None:
            self._say(f"No step of this model executes line {line} of Algorithm {algorithm}.")
            return False
        self.select_step(index)
        return True

    def select_head(self, head: int) -> None:
        head = max(0, min(self.n_heads - 1, int(head)))
        if head != self.head:
            self.head = head
            self.selection_changed.emit()

    def labels_for(self, dim: str) -> tuple[str, ...] | None:
        """Token labels of the trace's token axis ``dim`` ("l", "l_x", "l_z"), else None."""
        x, z = self.trace_inputs
        if dim in ("l", "l_x"):
            return x
        if dim == "l_z":
            return z
        return None

    def say(self, message: str) -> None:
        """Put a sentence in the status line (a view's request that could not be met)."""
        self._say(message)

    def _say(self, message: str) -> None:
        if message != self.message:
            self.message = message
            self.message_changed.emit(message)

