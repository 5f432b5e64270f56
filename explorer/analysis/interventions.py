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
``intervened(model, interventions, inputs)`` attaches them for a block; inside a
recording (``record_intervened``) the trace stores the intervened values, so every view
of the trace shows the intervened run. Positions and layers are 0-based; the paper's
A[t_z, t_x] is ``pattern[..., t_x, t_z]`` in torch's layout.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

import torch
from torch import nn

from explorer.analysis.common import AnalysisError, Ids, Inputs, as_ids
from explorer.core.models import TransformerModel
from explorer.trace import Trace, record
from explorer.trace.record import hooks_attached

MODES = ("zero", "mean")
SITES = ("resid", "attn_out", "mlp_out", "head_out", "pattern")
TensorFn = Callable[[torch.Tensor], torch.Tensor]


# -- where things are --------------------------------------------------------------------
def stack_module(model: TransformerModel, stack: str | None) -> nn.Module:
    """The stack an intervention names (None: the stack that feeds the output)."""
    if model.cfg.arch != "encoder-decoder":
        if stack not in (None, ""):
            raise AnalysisError(f"this {model.cfg.arch} has one stack: give no stack, "
                                f"not {stack!r}")
        return model.stack
    if stack in (None, "decoder"):
        return model.decoder
    if stack == "encoder":
        return model.encoder
    raise AnalysisError(f"stack {stack!r} is not 'encoder' or 'decoder'")


def stack_name(model: TransformerModel, stack: str | None) -> str:
    """The step-name prefix of the stack ("", "encoder." or "decoder.")."""
    stack_module(model, stack)
    if model.cfg.arch != "encoder-decoder":
        return ""
    return "encoder." if stack == "encoder" else "decoder."


def resid_step(model: TransformerModel, layer: int, stack: str | None = None) -> str:
    """The step holding the residual stream that enters layer ``layer``: the embedding's
    output for layer 0, else the previous layer's output (its MLP residual, or for
    post-norm that residual normalised)."""
    prefix = stack_name(model, stack)
    mod = stack_module(model, stack)
    if layer == 0:
        return f"{prefix}embed.norm" if mod.embed.norm is not None else f"{prefix}embed.sum"
    last = "resid_mlp" if model.cfg.norm_placement == "pre" else "mlp_norm"
    return f"{prefix}blocks.{layer - 1}.{last}"


def _check_index(value: Any, what: str, count: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise AnalysisError(f"the {what} must be a whole number, not {value!r}")
    if not 0 <= value < count:
        raise AnalysisError(f"{what} {value} does not exist: there are {count} "
                            f"(0 to {count - 1})")
    return value


def _causal(model: TransformerModel, stack: str | None) -> bool:
    arch = model.cfg.arch
    return arch == "decoder" or (arch == "encoder-decoder" and stack != "encoder")


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
        _check_index(self.layer, "layer", len(mod.blocks))
        head = getattr(self, "head", None)
        if head is not None:
            _check_index(head, "head", mod.blocks[self.layer].attn.n_heads)

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


def _mean_source(self, model: TransformerModel, step: str) -> list[str]:
    return [self._layer_step(model, step)] if self.reference is not None else []


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


@dataclass(frozen=True)
class AblateHead(Intervention):
    """Head ``head`` of layer ``layer``: Y^h set to 0 or to its mean over the positions."""

    kind: ClassVar[str] = "ablate_head"
    layer: int
    head: int
    mode: str = "zero"
    reference: tuple[int, ...] | None = None  # mean over this text's positions
    stack: str | None = None

    def steps(self, model):
        return _mean_source(self, model, "attn.head_out")

    def source_key(self):
        return None if self.reference is None else (self.reference, None)

    def hooks(self, ctx):
        step = self._layer_step(ctx.model, "attn.head_out")
        ref = ctx.sources[self.source_key()][step] if self.reference is not None else None
        return [(step, lambda x: _replace(x, self.mode, ref, (self.head,)))]

    @property
    def label(self) -> str:
        return f"{self.mode}-ablate layer {self.layer} head {self.head}"


@dataclass(frozen=True)
class AblateMLP(Intervention):
    """Layer ``layer``'s MLP output set to 0 or to its mean over the positions."""

    kind: ClassVar[str] = "ablate_mlp"
    layer: int
    mode: str = "zero"
    reference: tuple[int, ...] | None = None
    stack: str | None = None

    def steps(self, model):
        return _mean_source(self, model, "mlp.out")

    def source_key(self):
        return None if self.reference is None else (self.reference, None)

    def hooks(self, ctx):
        step = self._layer_step(ctx.model, "mlp.out")
        ref = ctx.sources[self.source_key()][step] if self.reference is not None else None
        return [(step, lambda x: _replace(x, self.mode, ref))]

    @property
    def label(self) -> str:
        return f"{self.mode}-ablate layer {self.layer} MLP"


@dataclass(frozen=True)
class AblateAttention(Intervention):
    """Layer ``layer``'s whole attention output (W_o Y + b_o) set to 0 or to its mean."""

    kind: ClassVar[str] = "ablate_attention"
    layer: int
    mode: str = "zero"
    reference: tuple[int, ...] | None = None
    stack: str | None = None

    def steps(self, model):
        return _mean_source(self, model, "attn.out")

    def source_key(self):
        return None if self.reference is None else (self.reference, None)

    def hooks(self, ctx):
        step = self._layer_step(ctx.model, "attn.out")
        ref = ctx.sources[self.source_key()][step] if self.reference is not None else None
        return [(step, lambda x: _replace(x, self.mode, ref))]

    @property
    def label(self) -> str:
        return f"{self.mode}-ablate layer {self.layer} attention"


def _check_pair(self, model: TransformerModel, length: int) -> None:
    _check_index(self.query, "query position", length)
    _check_index(self.key, "key position", length)
    if _causal(model, self.stack) and self.key > self.query:
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
        return (f"layer {self.layer} head {self.head}: A[{self.key}, {self.query}] = "
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
        return (f"layer {self.layer} head {self.head}: query {self.query} attends only to "
                f"key {self.key}")


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
        _check_index(self.key, "key position", length)

    def hooks(self, ctx):
        def knock_out(a: torch.Tensor) -> torch.Tensor:
            a = a.clone()
            a[..., self.key] = 0
            total = a.sum(dim=-1, keepdim=True)
            return torch.where(total > 0, a / total.clamp_min(1e-30), a)

        return [(self._layer_step(ctx.model, "attn.pattern"), knock_out)]

    @property
    def label(self) -> str:
        return f"layer {self.layer}: key {self.key} knocked out"


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
            _check_index(t, "position", length)

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
                "mlp_out": "MLP output", "head_out": f"head {self.head} output",
                "pattern": f"head {self.head} pattern"}.get(self.site, self.site)
        where = "all positions" if self.positions is None else \
            "position" + ("s " if len(self.positions) > 1 else " ") + \
            ", ".join(str(t) for t in self.positions)
        return f"patch layer {self.layer} {what} at {where} from B"


KINDS: dict[str, type[Intervention]] = {
    cls.kind: cls for cls in (AblateHead, AblateMLP, AblateAttention, EditAttention,
                              OneHotAttention, KnockOutKey, Patch)}
_TUPLES = ("reference", "source", "positions", "source_context")


# -- JSON ----------------------------------------------------------------------------------
def intervention_from_dict(data: Any) -> Intervention:
    """The intervention a dict (``to_dict``'s) describes; AnalysisError says what is wrong."""
    if not isinstance(data, dict) or "kind" not in data:
        raise AnalysisError("an intervention is an object with a 'kind'")
    cls = KINDS.get(data["kind"])
    if cls is None:
        raise AnalysisError(f"unknown intervention kind {data['kind']!r}: use one of "
                            f"{', '.join(KINDS)}")
    names = {f.name for f in fields(cls)}
    given = {k: v for k, v in data.items() if k != "kind"}
    unknown = sorted(set(given) - names)
    if unknown:
        raise AnalysisError(f"{data['kind']} has no field {', '.join(unknown)}")
    for name in _TUPLES:
        value = given.get(name)
        if value is not None:
            if not isinstance(value, (list, tuple)) or not all(
                    isinstance(v, int) and not isinstance(v, bool) for v in value):
                raise AnalysisError(f"{data['kind']}'s {name} must be a list of whole numbers")
            given[name] = tuple(value)
    mode = given.get("mode", "zero")
    if mode not in MODES:
        raise AnalysisError(f"the ablation mode {mode!r} is not one of {', '.join(MODES)}")
    try:
        return cls(**given)
    except TypeError as exc:
        missing = str(exc).split("argument")[-1].strip(": ")
        raise AnalysisError(f"{data['kind']} needs {missing}") from None


def interventions_to_list(interventions: Sequence[Intervention]) -> list[dict[str, Any]]:
    return [iv.to_dict() for iv in interventions]


def interventions_from_list(data: Any) -> list[Intervention]:
    if not isinstance(data, list):
        raise AnalysisError("the interventions must be a list")
    return [intervention_from_dict(d) for d in data]


# -- running ---------------------------------------------------------------------------------
def _stack_length(model: TransformerModel, inputs: Inputs, stack: str | None) -> int:
    if model.cfg.arch == "encoder-decoder" and stack == "encoder":
        return int(inputs.z.shape[1])
    return inputs.length


def source_traces(model: TransformerModel, interventions: Sequence[Intervention],
                  inputs: Inputs) -> dict[tuple, Trace]:
    """One recording per second input the interventions read (only the steps they need)."""
    wanted: dict[tuple, set[str]] = {}
    for iv in interventions:
        key = iv.source_key()
        if key is not None:
            wanted.setdefault(key, set()).update(iv.steps(model))
    traces = {}
    device = inputs.x.device
    for (ids, context), names in wanted.items():
        x = as_ids(list(ids), "the second input", model.cfg, device)
        args = (x,)
        if model.cfg.arch == "encoder-decoder":
            z = inputs.z if context is None else as_ids(list(context), "the second context",
                                                        model.cfg, device)
            args = (z, x)
        _, traces[(ids, context)] = record(model, *args, names=sorted(names))
    return traces


def check_all(model: TransformerModel, interventions: Sequence[Intervention],
              inputs: Inputs) -> None:
    for iv in interventions:
        if not isinstance(iv, Intervention):
            raise AnalysisError(f"not an intervention: {iv!r}")
        iv.check(model, _stack_length(model, inputs, getattr(iv, "stack", None)))
        mode = getattr(iv, "mode", "zero")
        if mode not in MODES:
            raise AnalysisError(f"the ablation mode {mode!r} is not one of {', '.join(MODES)}")


def hook_functions(model: TransformerModel, interventions: Sequence[Intervention],
                   inputs: Inputs, sources: Mapping[tuple, Trace] | None = None
                   ) -> dict[str, list[TensorFn]]:
    """Check the interventions, run their second inputs (unless ``sources`` has them) and
    return the functions to apply at each step, in list order."""
    check_all(model, interventions, inputs)
    sources = dict(sources or {})
    missing = [iv for iv in interventions
               if iv.source_key() is not None and iv.source_key() not in sources]
    sources.update(source_traces(model, missing, inputs))
    by_step: dict[str, list[TensorFn]] = {}
    for iv in interventions:
        length = _stack_length(model, inputs, getattr(iv, "stack", None))
        for step, fn in iv.hooks(Context(model, length, sources)):
            by_step.setdefault(step, []).append(fn)
    return by_step


@contextmanager
def functions_attached(model: TransformerModel,
                       by_step: Mapping[str, Sequence[TensorFn]]) -> Iterator[None]:
    """Apply ``by_step``'s functions at their hook points for the block, before whatever
    function is attached there already (a recording then stores the changed values)."""
    points = model.hook_points()
    unknown = [s for s in by_step if s not in points]
    if unknown:
        raise AnalysisError(f"this model has no step {unknown[0]!r}")
    saved = {}
    try:
        for step, fns in by_step.items():
            point = points[step]
            saved[step] = prior = point.fn

            def apply(name: str, x: torch.Tensor, fns=tuple(fns), prior=prior) -> torch.Tensor:
                for fn in fns:
                    x = fn(x)
                return prior(name, x) if prior is not None else x

            point.fn = apply
        yield
    finally:
        for step, prior in saved.items():
            points[step].fn = prior


@contextmanager
def intervened(model: TransformerModel, interventions: Sequence[Intervention],
               inputs: Inputs, sources: Mapping[tuple, Trace] | None = None
               ) -> Iterator[None]:
    """Forward passes inside the block run with ``interventions`` applied."""
    with torch.no_grad():
        by_step = hook_functions(model, interventions, inputs, sources)
    with functions_attached(model, by_step):
        yield


def run_intervened(model: TransformerModel, inputs: Inputs,
                   interventions: Sequence[Intervention],
                   sources: Mapping[tuple, Trace] | None = None) -> torch.Tensor:
    """The logits (1, l, N_V) of one forward pass with the interventions applied."""
    with torch.no_grad(), intervened(model, interventions, inputs, sources):
        return model(*inputs.args())


def record_intervened(model: TransformerModel, *args: torch.Tensor,
                      interventions: Sequence[Intervention] = (), lean: bool = False
                      ) -> tuple[torch.Tensor, Trace]:
    """``record(model, *args, lean=lean)`` with the interventions applied: the trace holds
    the intervened values (its ``interventions`` name them) and is never continued by
    ``record_edit`` (its ``weights`` are None). No interventions: a plain recording."""
    if not interventions:
        return record(model, *args, lean=lean)
    x = args[-1]
    z = args[0] if len(args) == 2 else None
    inputs = Inputs(x, z)
    store: dict[str, torch.Tensor | None] = {}
    with torch.no_grad():
        by_step = hook_functions(model, interventions, inputs)
        with hooks_attached(model, store, None, lean, args), \
                functions_attached(model, by_step):
            logits = model(*args)
    trace = Trace(store, model.cfg)
    trace.complete, trace.lean = True, lean
    trace.interventions = tuple(interventions)
    return logits, trace


def prepare_source(model: TransformerModel, ids: Ids) -> tuple[int, ...]:
    """A second input's ids as an intervention stores them (checked)."""
    return tuple(int(i) for i in as_ids(ids, "the second input", model.cfg, "cpu")[0])
