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
        self.model_note = ""  # the user moved on from what the last model change removed
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

    def drop_interventions(self) -> None:
        """Forget the list without announcing it (``set_model`` does, with the model)."""
        self._interventions.clear()

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
        enc = self.encode(text)
        if not enc.chunks:
            raise AnalysisError("the second text gives no tokens")
        chunk = enc.chunks[min(self.chunk, enc.n_chunks - 1)]
        return prepare_source(self.model, chunk.ids)

    def effect(self, position: int = -1, target: int | None = None) -> Effect | None:
        """The active interventions' effect on the output at ``position`` (default the
        last): Δ P(target) (default the clean top token), KL(clean ‖ intervened), top-1
        changed. None without active interventions or a trace."""
        if self.trace is None or not self.trace.interventions or self.logits is None or \
                self.clean_logits is None:
            return None
        return intervention_effect(self.clean_logits, self.logits, position, target)


# -- how the window names them (the paper's 1-based layers, heads and positions) ----------
def site_prefix(cfg, stack: str | None, layer: int) -> str:
    """The step-name prefix of a layer's self-attention, e.g. ``blocks.1.attn`` or
    ``decoder.blocks.0.attn`` (None: the stack that feeds the output)."""
    if cfg.arch != "encoder-decoder":
        return f"blocks.{layer}.attn"
    return f"{'encoder' if stack == 'encoder' else 'decoder'}.blocks.{layer}.attn"


def stack_of(prefix: str) -> str | None:
    """The ``stack`` an intervention takes for a step name or an attention site's prefix
    (``decoder.blocks.0.attn`` -> "decoder"; a one-stack model's names -> None)."""
    first = prefix.split(".", 1)[0]
    return first if first in ("encoder", "decoder") else None


def describe(intervention: Intervention, labels: Sequence[str] = ()) -> str:
    """One line for the window: "Layer 2 · head 3: zero-ablated", 1-based as the paper
    counts, with the token at a position where ``labels`` has it."""
    iv = intervention
    if not hasattr(iv, "layer"):  # an SAE feature's: its label names its site
        return iv.label[0].upper() + iv.label[1:]
    stack = getattr(iv, "stack", None)
    where = f"{stack.capitalize()} layer" if stack else "Layer"
    layer = f"{where} {iv.layer + 1}"

    def pos(t: int) -> str:
        return f"t = {t + 1}" + (f" “{labels[t]}”" if 0 <= t < len(labels) else "")

    kind = iv.kind
    head = getattr(iv, "head", None)
    on = f"{layer} · head {head + 1}" if head is not None else layer
    if kind in ("ablate_head", "ablate_mlp", "ablate_attention"):
        part = {"ablate_head": on, "ablate_mlp": f"{layer} · MLP",
                "ablate_attention": f"{layer} · attention"}[kind]
        how = "zero-ablated" if iv.mode == "zero" else (
            "mean-ablated" + (" (mean over text B)" if iv.reference is not None else ""))
        return f"{part}: {how}"
    if kind == "edit_attention":
        renorm = ", column renormalised" if iv.renormalise else ""
        return (f"{on}: A[{pos(iv.key)}, {pos(iv.query)}] set to {float(iv.weight):g}"
                f"{renorm}")
    if kind == "one_hot_attention":
        return f"{on}: query {pos(iv.query)} attends only to key {pos(iv.key)}"
    if kind == "knock_out_key":
        return f"{layer} · every head: key {pos(iv.key)} knocked out"
    if kind == "patch":
        what = {"resid": "residual stream", "attn_out": "attention output",
                "mlp_out": "MLP output", "head_out": "output", "pattern": "pattern"}
        target = on if iv.site in ("head_out", "pattern") else layer
        at = "all positions" if iv.positions is None else ", ".join(
            pos(t) for t in iv.positions)
        return f"{target}: {what.get(iv.site, iv.site)} patched from text B at {at}"
    return iv.label


def head_marks(cfg, interventions: Sequence[Intervention]) -> dict[tuple[str, int], str]:
    """{(attention prefix, head): description} of the heads the interventions act on, for
    crossing them out in the head grid (a knocked-out key marks every head of its layer)."""
    marks: dict[tuple[str, int], str] = {}
    for iv in interventions:
        head = getattr(iv, "head", None)
        if iv.kind == "knock_out_key":
            heads = range(int(cfg.stack_sizes(getattr(iv, "stack", None) or None)["n_heads"]))
        elif head is not None:
            heads = [head]
        else:
            continue
        prefix = site_prefix(cfg, getattr(iv, "stack", None), iv.layer)
        for h in heads:
            key = (prefix, h)
            marks[key] = "; ".join(filter(None, (marks.get(key), describe(iv))))
    return marks
