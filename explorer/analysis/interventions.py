"""Interventions: change what a forward pass computes at a hook point, never the weights.

An intervention is a frozen value (serialisable to a dict / JSON) naming a step of one
layer and what to put there instead of what the model computed:

- ``AblateHead``, ``AblateMLP``, ``AblateAttention``: a head's Y^h (``attn.head_out``),
  an MLP's output or a layer's whole attention output set to 0 ("zero") or to its mean
  over the text's positions ("mean"; over a ``reference`` text's positions when given);
- ``EditAttention``: one weight A[t_z, t_x] of a head set to a value, the rest of its
  column (query t_x's weights over the keys) rescaled to sum to 1 (or not);
  ``OneHotAttention``: query t_x attends to key t_z only; ``KnockOutKey``: key t_z hidden
  from every query of every head of a layer (each column renormalised);
- ``Patch``: an activation (``resid`` the residual stream entering the layer,
  ``attn_out``, ``mlp_out``, ``head_out`` one head's Y^h, ``pattern`` one head's weights)
  at chosen positions taken from a second input's run (``source``, same token length).

A list of interventions composes (applied in order where two share a step).
``explorer.analysis.intervening`` applies them during a forward pass (and reads and
writes their JSON form); inside a recording (``record_intervened``) the trace stores the
intervened values, so every view of the trace shows the intervened run. Positions,
layers and heads are 0-based, as in the rest of the Python API (a negative position counts
from the end; a ``label``, which a person reads, counts layers and heads from 1); the
paper's A[t_z, t_x] is ``pattern[..., t_x, t_z]`` in torch's layout.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import torch

from explorer.analysis.common import AnalysisError
from explorer.analysis.locate import (
    causal,
    check_index,
    check_position_index,
    resid_step,
    stack_module,
    stack_name,
)
from explorer.core.models import TransformerModel
from explorer.trace import Trace

MODES = ("zero", "mean")
SITES = ("resid", "attn_out", "mlp_out", "head_out", "pattern")
TensorFn = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Context:
    """What intervention functions are made from: the model, the run's length (positions
    of the intervened stack) and the traces of the second inputs, by source key."""

    model: TransformerModel
    length: int
    sources: Mapping[tuple, Trace]


# -- the interventions --------------------------------------------------------------------
@dataclass(frozen=True)
class Intervention:
    """Base: ``kind`` names it in JSON; ``hooks`` gives (step, function) pairs."""

    kind: ClassVar[str] = ""

    def check(self, model: TransformerModel, length: int) -> None:
        """AnalysisError (one sentence) when this model or a text of ``length`` positions
        has no such layer, head or position."""
        mod = stack_module(model, getattr(self, "stack", None))
        check_index(self.layer, "layer", len(mod.blocks))
        head = getattr(self, "head", None)
        if head is not None:
            check_index(head, "head", mod.blocks[self.layer].attn.n_heads)

    def steps(self, model: TransformerModel) -> list[str]:
        """The steps this intervention reads from its source run (none by default)."""
        return []

    def source_key(self) -> tuple | None:
        return None

    def hooks(self, ctx: Context) -> list[tuple[str, TensorFn]]:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        data = {"kind": self.kind, **asdict(self)}
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}

    @property
    def label(self) -> str:
        raise NotImplementedError

    def _layer_step(self, model: TransformerModel, step: str) -> str:
        return f"{stack_name(model, getattr(self, 'stack', None))}blocks.{self.layer}.{step}"


def _replace(x: torch.Tensor, mode: str, reference: torch.Tensor | None,
             index: tuple = ()) -> torch.Tensor:
    """x with x[(:, *index)] set to 0 or to its mean over positions (axis -2 of what the
    index leaves), from ``reference`` (1, …) when given."""
    x = x.clone()
    part = x[(slice(None), *index)]
    if mode == "zero":
        part.zero_()
    else:
        src = part if reference is None else reference[(slice(None), *index)].to(x)
        part.copy_(src.mean(dim=-2, keepdim=True).expand_as(part))
    return x


class _Ablation(Intervention):
    """What the three ablations share: one step of a layer set to 0 or to a mean (over
    the text's positions, or over those of the ``reference`` text's run)."""

    step_of_layer: ClassVar[str] = ""

    def _index(self) -> tuple:
        return ()

    def steps(self, model):
        return [self._layer_step(model, self.step_of_layer)] if self.reference is not None \
            else []

    def source_key(self):
        return None if self.reference is None else (self.reference, None)

    def hooks(self, ctx):
        step = self._layer_step(ctx.model, self.step_of_layer)
        ref = ctx.sources[self.source_key()][step] if self.reference is not None else None
        return [(step, lambda x: _replace(x, self.mode, ref, self._index()))]


@dataclass(frozen=True)
class AblateHead(_Ablation):
    """Head ``head`` of layer ``layer``: Y^h set to 0 or to its mean over the positions."""

    kind: ClassVar[str] = "ablate_head"
    step_of_layer: ClassVar[str] = "attn.head_out"
    layer: int
    head: int
    mode: str = "zero"
    reference: tuple[int, ...] | None = None  # mean over this text's positions
    stack: str | None = None

    def _index(self) -> tuple:
        return (self.head,)

    @property
    def label(self) -> str:
        return f"{self.mode}-ablate layer {self.layer + 1} head {self.head + 1}"


@dataclass(frozen=True)
class _LayerAblation(_Ablation):
    """A whole part of layer ``layer`` (its MLP or its attention) set to 0 or its mean."""

    part: ClassVar[str] = ""
    layer: int
    mode: str = "zero"
    reference: tuple[int, ...] | None = None
    stack: str | None = None

    @property
    def label(self) -> str:
        return f"{self.mode}-ablate layer {self.layer + 1} {self.part}"


@dataclass(frozen=True)
class AblateMLP(_LayerAblation):
    """Layer ``layer``'s MLP output set to 0 or to its mean over the positions."""

    kind: ClassVar[str] = "ablate_mlp"
    step_of_layer: ClassVar[str] = "mlp.out"
    part: ClassVar[str] = "MLP"


@dataclass(frozen=True)
class AblateAttention(_LayerAblation):
    """Layer ``layer``'s whole attention output (W_o Y + b_o) set to 0 or to its mean."""

    kind: ClassVar[str] = "ablate_attention"
    step_of_layer: ClassVar[str] = "attn.out"
    part: ClassVar[str] = "attention"


def _check_pair(self, model: TransformerModel, length: int) -> None:
    query = check_position_index(self.query, "query position", length)
    key = check_position_index(self.key, "key position", length)
    if causal(model, self.stack) and key > query:
        raise AnalysisError(f"query {self.query} cannot attend to key {self.key}: the "
                            "decoder's mask hides later tokens")


def _set_weight(row: torch.Tensor, key: int, weight: float, renormalise: bool) -> torch.Tensor:
    """row (B, l_z) with row[:, key] = weight; the others rescaled to sum to 1 − weight
    (unchanged without ``renormalise``; left at 0 when they were all 0)."""
    new = row.clone()
    new[:, key] = 0
    if renormalise:
        rest = new.sum(dim=-1, keepdim=True)
        scale = torch.where(rest > 0, (1 - weight) / rest.clamp_min(1e-30),
                            torch.zeros_like(rest))
        new = new * scale if weight < 1 else torch.zeros_like(new)
    else:
        new = row.clone()
    new[:, key] = weight
    return new


@dataclass(frozen=True)
class EditAttention(Intervention):
    """One weight A[key, query] of a head set to ``weight``; with ``renormalise`` the
    query's other weights are rescaled so that its column still sums to 1."""

    kind: ClassVar[str] = "edit_attention"
    layer: int
    head: int
    query: int
    key: int
    weight: float
    renormalise: bool = True
    stack: str | None = None

    def check(self, model, length):
        super().check(model, length)
        _check_pair(self, model, length)
        if not isinstance(self.weight, (int, float)) or not 0 <= float(self.weight) <= 1:
            raise AnalysisError(f"an attention weight is between 0 and 1, not {self.weight!r}")

    def hooks(self, ctx):
        def edit(a: torch.Tensor) -> torch.Tensor:
            a = a.clone()
            a[:, self.head, self.query] = _set_weight(a[:, self.head, self.query], self.key,
                                                      float(self.weight), self.renormalise)
            return a

        return [(self._layer_step(ctx.model, "attn.pattern"), edit)]

    @property
    def label(self) -> str:
        norm = "" if self.renormalise else ", not renormalised"
        return (f"layer {self.layer + 1} head {self.head + 1}: A[{self.key}, {self.query}] = "
                f"{float(self.weight):g}{norm}")


@dataclass(frozen=True)
class OneHotAttention(Intervention):
    """Query ``query`` of a head attends to key ``key`` only (its column one-hot)."""

    kind: ClassVar[str] = "one_hot_attention"
    layer: int
    head: int
    query: int
    key: int
    stack: str | None = None

    def check(self, model, length):
        super().check(model, length)
        _check_pair(self, model, length)

    def hooks(self, ctx):
        def one_hot(a: torch.Tensor) -> torch.Tensor:
            a = a.clone()
            a[:, self.head, self.query] = 0
            a[:, self.head, self.query, self.key] = 1
            return a

        return [(self._layer_step(ctx.model, "attn.pattern"), one_hot)]

    @property
    def label(self) -> str:
        return (f"layer {self.layer + 1} head {self.head + 1}: query {self.query} attends "
                f"only to key {self.key}")


@dataclass(frozen=True)
class KnockOutKey(Intervention):
    """Key ``key`` hidden from every query of every head of layer ``layer``: its weights
    set to 0 and each query's remaining weights renormalised (a query that could see only
    that key reads nothing)."""

    kind: ClassVar[str] = "knock_out_key"
    layer: int
    key: int
    stack: str | None = None

    def check(self, model, length):
        super().check(model, length)
        check_position_index(self.key, "key position", length)

    def hooks(self, ctx):
        def knock_out(a: torch.Tensor) -> torch.Tensor:
            a = a.clone()
            a[..., self.key] = 0
            total = a.sum(dim=-1, keepdim=True)
            return torch.where(total > 0, a / total.clamp_min(1e-30), a)

        return [(self._layer_step(ctx.model, "attn.pattern"), knock_out)]

    @property
    def label(self) -> str:
        return f"layer {self.layer + 1}: key {self.key} knocked out"


@dataclass(frozen=True)
class Patch(Intervention):
    """An activation at ``positions`` (None: all) taken from the run on ``source`` (the
    second input's ids; ``source_context`` its context z, None: the same context).

    ``site`` is "resid" (the residual stream entering the layer), "attn_out", "mlp_out",
    "head_out" (head ``head``'s Y^h) or "pattern" (head ``head``'s weights of the query
    positions)."""

    kind: ClassVar[str] = "patch"
    site: str
    layer: int
    source: tuple[int, ...]
    positions: tuple[int, ...] | None = None
    head: int | None = None
    source_context: tuple[int, ...] | None = None
    stack: str | None = None

    def check(self, model, length):
        if model.cfg.arch == "encoder-decoder" and self.stack == "encoder":
            raise AnalysisError("patching the encoder of an encoder-decoder is not "
                                "supported: patch its decoder")
        if self.site not in SITES:
            raise AnalysisError(f"site {self.site!r} is not one of {', '.join(SITES)}")
        if self.site in ("head_out", "pattern") and self.head is None:
            raise AnalysisError(f"patching a head's {self.site} needs the head")
        super().check(model, length)
        if len(self.source) != length:
            raise AnalysisError(f"the second input has {len(self.source)} tokens and the "
                                f"first {length}: patching needs inputs of the same length")
        for t in self.positions or ():
            check_position_index(t, "position", length)

    def step(self, model: TransformerModel) -> str:
        if self.site == "resid":
            return resid_step(model, self.layer, self.stack)
        return self._layer_step(model, {"attn_out": "attn.out", "mlp_out": "mlp.out",
                                        "head_out": "attn.head_out",
                                        "pattern": "attn.pattern"}[self.site])

    def steps(self, model):
        return [self.step(model)]

    def source_key(self):
        return (self.source, self.source_context)

    def hooks(self, ctx):
        step = self.step(ctx.model)
        clean = ctx.sources[self.source_key()][step]
        head = () if self.head is None or self.site not in ("head_out", "pattern") \
            else (self.head,)
        where = slice(None) if self.positions is None else list(self.positions)

        def patch(x: torch.Tensor) -> torch.Tensor:
            x = x.clone()
            index = (slice(None), *head, where)
            x[index] = clean[(slice(0, 1), *head, where)].to(x)
            return x

        return [(step, patch)]

    @property
    def label(self) -> str:
        what = {"resid": "residual stream", "attn_out": "attention output",
                "mlp_out": "MLP output", "head_out": f"head {(self.head or 0) + 1} output",
                "pattern": f"head {(self.head or 0) + 1} pattern"}.get(self.site, self.site)
        where = "all positions" if self.positions is None else \
            "position" + ("s " if len(self.positions) > 1 else " ") + \
            ", ".join(str(t) for t in self.positions)
        return f"patch layer {self.layer + 1} {what} at {where} from B"


KINDS: dict[str, type[Intervention]] = {
    cls.kind: cls for cls in (AblateHead, AblateMLP, AblateAttention, EditAttention,
                              OneHotAttention, KnockOutKey, Patch)}
