"""The session's active interventions: a list the window edits, a master on/off switch,
and the effect on the output against the clean run. Qt-free.

``Session`` inherits this mixin. Every change bumps the session's generation (a new
trace is due) and emits ``interventions_changed``; the next recording applies the
``active`` interventions (``explorer.analysis.record_intervened``) and keeps the clean
run's logits beside the intervened ones (``session.clean_logits``)::

    session.add_intervention(AblateHead(1, 2))        # False + a message if it cannot be
    session.record_now()                              # the trace and logits are intervened
    effect = session.effect(position=-1)              # Δp of the top token, KL, top-1 changed
    session.set_interventions_enabled(False)          # the clean run again, list kept
    session.remove_intervention(0); session.clear_interventions()
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from psygnal import Signal

from explorer.analysis import (
    AnalysisError,
    Effect,
    Intervention,
    intervention_effect,
    prepare,
)
from explorer.analysis.intervening import check_all, prepare_source


class InterventionsMixin:
    """What ``Session`` knows about interventions (see the module docstring)."""

    interventions_changed = Signal()  # the list or the switch changed (a new trace is due)

    def _init_interventions(self) -> None:
        self._interventions: list[Intervention] = []
        self.interventions_enabled = True
        self.clean_logits: torch.Tensor | None = None  # the run without interventions

    @property
    def interventions(self) -> tuple[Intervention, ...]:
        return tuple(self._interventions)

    @property
    def active_interventions(self) -> tuple[Intervention, ...]:
        """What the next recording applies: the list, unless switched off."""
        return tuple(self._interventions) if self.interventions_enabled else ()

    def _interventions_edited(self) -> None:
        self.generation += 1
        self.interventions_changed.emit()

    def check_intervention(self, intervention: Intervention) -> str:
        """"" when ``intervention`` fits this model and the current text, else a sentence."""
        request = self.request()
        if request is None:
            return self.message or "there is no text to run"
        try:
            inputs = prepare(self.model, request.x, request.z)
            check_all(self.model, [intervention], inputs)
        except AnalysisError as exc:
            return str(exc)
        return ""

    def add_intervention(self, intervention: Intervention) -> bool:
        """Append ``intervention``; False (and the reason in ``message``) when it does not
        fit this model or text."""
        problem = self.check_intervention(intervention)
        if problem:
            self._say(f"Cannot add the intervention: {problem}.")
            return False
        self._interventions.append(intervention)
        self._interventions_edited()
        return True

    def remove_intervention(self, index: int) -> None:
        if 0 <= index < len(self._interventions):
            del self._interventions[index]
            self._interventions_edited()

    def clear_interventions(self) -> None:
        if self._interventions:
            self._interventions.clear()
            self._interventions_edited()

    def set_interventions(self, interventions: Sequence[Intervention],
                          enabled: bool = True) -> None:
        """Replace the list (a scene's); checked when the next trace is recorded."""
        new = list(interventions)
        if new != self._interventions or enabled != self.interventions_enabled:
            self._interventions = new
            self.interventions_enabled = bool(enabled)
            self._interventions_edited()

    def set_interventions_enabled(self, enabled: bool) -> None:
        """The master switch: off records the model's own run, the list is kept."""
        if bool(enabled) != self.interventions_enabled:
            self.interventions_enabled = bool(enabled)
            self._interventions_edited()

    def source_ids(self, text: str) -> tuple[int, ...]:
        """A second text's ids as ``Patch(source=...)`` takes them: encoded like the text
        (the same chunk). AnalysisError when it gives no tokens."""
        enc = self._encode(text, self._x_role())
        if not enc.chunks:
            raise AnalysisError("the second text gives no tokens")
        chunk = enc.chunks[min(self.chunk, enc.n_chunks - 1)]
        return prepare_source(self.model, chunk.ids)

    def effect(self, position: int = -1, target: int | None = None) -> Effect | None:
        """The active interventions' effect on the output at ``position`` (default the
        last): Δ P(target) (default the clean top token), KL(clean ‖ intervened), top-1
        changed. None without active interventions or a trace."""
        if self.logits is None or self.clean_logits is None or \
                self.trace is None or not self.trace.interventions:
            return None
        return intervention_effect(self.clean_logits, self.logits, position, target)
