"""A second text B to compare with the typed text A ("compare with"). Qt-free.

``session.compare`` holds B: its text, tokens (encoded like A, same chunk, same context z
for the encoder-decoder) and its own trace. A window records B on its own worker thread
exactly like A::

    request = session.compare.request()    # None when B is empty or already recorded
    result = run_request(request)          # any thread
    session.compare.apply(result)          # stale results are ignored

The views then show A, B or A − B (``attention_comparison``, ``output_comparison``):
position axes aligned on the common prefix, with a sentence when the lengths differ.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from psygnal import Signal

from explorer.analysis.compare import Comparison, align, compare_logits
from explorer.state.inputs import MAX_TEXT, EncodedText
from explorer.state.recording import TraceLogits, TraceRequest, TraceResult, run_request

if TYPE_CHECKING:
    from explorer.state.session import Session
    from explorer.trace import Trace

MODES = ("A", "B", "A − B")


class SecondInput:
    """The text B that views compare with A; empty text = no comparison."""

    changed = Signal()  # B's text, tokens or trace changed, or B was cleared
    logits = TraceLogits()  # B's logits (B, ℓ, N_V), joined when first asked

    def __init__(self, session: Session) -> None:
        self.session = session
        self.text = ""
        self.encoded: EncodedText | None = None
        self.trace: Trace | None = None
        self._logits: torch.Tensor | None = None
        self.labels: tuple[str, ...] = ()
        self.error = ""
        self.generation = 0
        self._wanted: tuple | None = None  # what the next request feeds (ids, model)
        self._shown: tuple | None = None  # what ``trace`` was recorded from
        session.model_changed.connect(self._reencode)
        session.inputs_changed.connect(self._inputs_changed)
        session.weights_changed.connect(self._weights_changed)

    # -- what B is ---------------------------------------------------------------------
    @property
    def active(self) -> bool:
        """A second text is set (its trace may still be on its way)."""
        return bool(self.text)

    @property
    def ready(self) -> bool:
        """B's trace is recorded for the current model, chunk and context (after new
        weights, the previous weights' trace stays until the new one is recorded)."""
        return (self.active and self.trace is not None and self._shown is not None
                and self._wanted is not None and self._shown[:2] == self._wanted[:2])

    def set_text(self, text: str) -> None:
        text = text[:MAX_TEXT]
        if text == self.text:
            return
        self.text = text
        self._reencode()

    def clear(self) -> None:
        self.set_text("")

    def _reencode(self) -> None:
        s = self.session
        self.encoded = s.encode(self.text) if self.text else None
        if not self.text:
            self.trace, self.logits, self.labels, self._shown = None, None, (), None
        self.error = ""
        self._inputs_changed()
        self.changed.emit()

    def _weights_changed(self) -> None:
        """New weights of the same model: B is recorded again; its trace so far stays."""
        self._inputs_changed(weights=True)

    def _inputs_changed(self, weights: bool = False) -> None:
        """A's chunk, context or model changed: B follows (its own text is kept)."""
        wanted = self._feed()
        if wanted != self._wanted:
            self._wanted = wanted
            self.generation += 1
            if not weights and self._shown is not None and \
                    self._shown[2] is not self.session.model:
                self.trace, self.logits, self.labels, self._shown = None, None, (), None
                self.changed.emit()

    def _feed(self) -> tuple | None:
        """(x ids, z ids, model) that B's trace must be recorded from; None: nothing."""
        s = self.session
        enc = self.encoded
        if not self.text or enc is None or not enc.chunks:
            return None
        x = enc.chunks[min(s.chunk, enc.n_chunks - 1)].ids
        z = None
        if s.encoded_context is not None:
            if not s.encoded_context.chunks:
                return None
            z = s.encoded_context.chunks[s.context_chunk].ids
        return x, z, s.model

    def note(self) -> str:
        """A sentence on what B feeds, for the input panel ("" when B is empty)."""
        if not self.text:
            return ""
        enc = self.encoded
        if enc is None or not enc.chunks:
            return "B gives no tokens to feed."
        chunk = min(self.session.chunk, enc.n_chunks - 1)
        return f"B: {enc.describe(chunk)}"

    # -- recording ---------------------------------------------------------------------
    def request(self) -> TraceRequest | None:
        """What to record for B; None when B is empty or its trace is up to date."""
        wanted = self._feed()
        if wanted is None or (wanted == self._shown and self.trace is not None):
            return None
        x, z, model = wanted
        previous = self.trace if self._shown is not None and self._shown[2] is model else None
        return TraceRequest(self.generation, model, x, z, previous)

    def apply(self, result: TraceResult) -> bool:
        """Take B's recorded trace; False when stale (A's inputs or B moved on) or failed."""
        if result.generation != self.generation or self._wanted is None:
            return False
        if result.error is not None or result.trace is None:
            self.error = f"The model could not run on text B: {result.error}"
            self.changed.emit()
            return False
        x, z, _ = self._wanted
        enc = self.encoded
        chunk = enc.chunks[min(self.session.chunk, enc.n_chunks - 1)]
        self.trace, self.logits, self.labels = result.trace, result.logits, chunk.labels
        self._shown, self.error = self._wanted, ""
        self.changed.emit()
        return True

    def record_now(self) -> bool:
        """Record B on this thread (no UI)."""
        request = self.request()
        return request is not None and self.apply(run_request(request))


# -- what the views show ---------------------------------------------------------------
def attention_comparison(session: Session, prefix: str, head: int) -> Comparison:
    """One head's pattern (l_z, l_x) in A and in B, aligned on both token axes, and
    A − B. ``prefix`` like ``blocks.1.attn``. ValueError (a sentence) when B is not ready
    or has no such step."""
    return pattern_comparison(session.trace, _ready(session).trace, prefix, head)


def pattern_comparison(trace_a: Trace | None, trace_b: Trace | None, prefix: str,
                       head: int) -> Comparison:
    """Head ``head`` of attention ``prefix`` in two traces of one model, aligned on both
    token axes (the common prefix of keys and of queries), and A − B."""
    from explorer.state.attention_data import head_weights

    weights = []
    for which, trace in (("A", trace_a), ("B", trace_b)):
        if trace is None or f"{prefix}.pattern" not in trace:
            raise ValueError(f"text {which} has no attention pattern {prefix}")
        w, _ = head_weights(trace, prefix, 0)
        if not 0 <= head < w.shape[0]:
            raise ValueError(f"{prefix} has {w.shape[0]} heads, not {head + 1}")
        weights.append(torch.as_tensor(w[head]))
    return align(weights[0], weights[1], (0, 1))


def output_comparison(session: Session) -> Comparison:
    """P_A and P_B over the vocabulary at each aligned position (positions, N_V),
    P_A − P_B, and KL(P_A ‖ P_B) in nats at each position."""
    b = _ready(session)
    la, lb = _logits(session.trace), _logits(b.trace)
    if la is None or lb is None:
        raise ValueError("this model has no token output to compare")
    return compare_logits(la, lb)


def _ready(session: Session) -> SecondInput:
    b = session.compare
    if not b.active:
        raise ValueError("no second text B to compare with")
    if not b.ready:
        raise ValueError(b.error or "text B is still being recorded")
    return b


def _logits(trace: Any) -> torch.Tensor | None:
    if trace is not None and "logits" in trace:
        return trace["logits"][0]
    return None
