"""Applying interventions during a forward pass, and their JSON form.

``intervened(model, interventions, inputs)`` attaches the interventions' functions to
their hook points for a block (in front of a recording's, so a trace stores the changed
values); ``run_intervened`` gives the logits of one such pass and ``record_intervened``
its trace. The second inputs that patches and reference means read are recorded once per
call (or passed in as ``sources``, as a sweep does).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import fields
from typing import Any

import torch

from explorer.analysis.attach import functions_attached
from explorer.analysis.common import AnalysisError, Ids, Inputs, as_ids
from explorer.analysis.interventions import (
    KINDS,
    MODES,
    Context,
    Intervention,
    TensorFn,
)
from explorer.analysis.sae.interventions import FEATURE_KINDS
from explorer.core.models import TransformerModel
from explorer.trace import Trace, record
from explorer.trace.record import hooks_attached

_TUPLES = ("reference", "source", "positions", "source_context")


# -- JSON ----------------------------------------------------------------------------------
def intervention_from_dict(data: Any) -> Intervention:
    """The intervention a dict (``to_dict``'s) describes; AnalysisError says what is wrong."""
    if not isinstance(data, dict) or "kind" not in data:
        raise AnalysisError("an intervention is an object with a 'kind'")
    cls = KINDS.get(data["kind"]) or FEATURE_KINDS.get(data["kind"])
    if cls is None:
        raise AnalysisError(f"unknown intervention kind {data['kind']!r}: use one of "
                            f"{', '.join([*KINDS, *FEATURE_KINDS])}")
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
