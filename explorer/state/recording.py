"""One forward pass of the session's model, off the GUI thread. Qt-free.

``TraceRequest`` is what a recording needs, captured on the GUI thread (the model, the
input ids, the trace shown so far, the active interventions); ``run_request`` records it
on any thread into a ``TraceResult``, which ``Session.apply`` (text A) or
``SecondInput.apply`` (text B) takes. Shared by ``explorer.state.session`` and
``explorer.state.compare``, which do not import each other.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import torch

from explorer.analysis import AnalysisError, record_intervened
from explorer.trace import Trace, record_edit


@dataclass(frozen=True)
class TraceRequest:
    """What one forward pass needs, captured on the GUI thread."""

    generation: int
    model: Any
    x: tuple[int, ...]
    z: tuple[int, ...] | None = None
    # The trace shown so far, continued where the edit kept a prefix (decoders).
    previous: Trace | None = field(default=None, compare=False, repr=False)
    # Applied while recording (``explorer.analysis.record_intervened``); never spliced.
    interventions: tuple = ()


@dataclass(frozen=True)
class TraceResult:
    generation: int
    trace: Trace | None
    logits: torch.Tensor | None
    error: str | None
    seconds: float
    clean_logits: torch.Tensor | None = None  # the run without the interventions


def run_request(request: TraceRequest) -> TraceResult:
    """Record every step of the forward pass for ``request`` (safe on a worker thread).

    The trace is lean: scores, masked scores, the MLP activation and the output softmax
    are recomputed when a view asks (a 12-layer model at 256 tokens keeps ~200 MB, not
    ~380 MB). A request with a ``previous`` trace reuses it where the edit kept a prefix
    of tokens (decoders; ``trace.first_new`` says from where it computed). With
    interventions the trace is the intervened run, recorded in full, and the result also
    holds the clean run's logits."""
    start = time.perf_counter()
    clean = None
    try:
        x = torch.tensor([request.x], dtype=torch.long)
        inputs = (x,) if request.z is None else (torch.tensor([request.z], dtype=torch.long), x)
        if request.interventions:
            logits, trace = record_intervened(request.model, *inputs, lean=True,
                                              interventions=request.interventions)
            with torch.no_grad():
                clean = request.model(*inputs)
        else:
            logits, trace = record_edit(request.model, *inputs, previous=request.previous,
                                        lean=True, joined=False)
    except AnalysisError as exc:
        return TraceResult(request.generation, None, None, f"an intervention does not fit: "
                           f"{exc}", time.perf_counter() - start)
    except (ValueError, RuntimeError, IndexError) as exc:
        return TraceResult(request.generation, None, None, str(exc), time.perf_counter() - start)
    if "logits" in trace:
        trace.finite_logits = finite_logits(trace, request.previous)
    return TraceResult(request.generation, trace, logits, None, time.perf_counter() - start,
                       logits if clean is None else clean)


def finite_logits(trace: Trace, previous: Trace | None) -> bool:
    """Whether every logit is finite: a continued trace checks only its new positions when
    the trace it continued was finite (its first positions are that trace's)."""
    if trace.first_new and previous is not None and previous.finite_logits:
        return all_finite(trace.new_positions("logits"))
    return all_finite(trace["logits"])


def all_finite(logits: torch.Tensor | None) -> bool:
    if logits is None or not logits.is_floating_point():
        return True
    # A finite sum means every value is finite (10x cheaper than testing each one at
    # 256 × 50257); an infinite or NaN sum is checked value by value.
    return bool(torch.isfinite(logits.sum())) or bool(torch.isfinite(logits).all())


class TraceLogits:
    """The ``logits`` of an object that holds a ``trace`` (the session, text B): as set,
    else the trace's own (B, ℓ, N_V), which a continued trace joins when first asked."""

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        if obj._logits is None and obj.trace is not None and "logits" in obj.trace:
            obj._logits = obj.trace["logits"]
        return obj._logits

    def __set__(self, obj: Any, value: torch.Tensor | None) -> None:
        obj._logits = value


def finite_or_masked(t: torch.Tensor, name: str) -> bool:
    """True when every value is finite, or −∞ only where a mask put it."""
    if name.endswith("masked_scores"):
        return not bool(torch.isnan(t).any() or torch.isposinf(t).any())
    return bool(torch.isfinite(t).all())


def nonfinite_note(trace: Trace | None, logits: torch.Tensor | None) -> str:
    """A sentence when ``trace``'s output holds NaN or ∞ (damaged or overflowing weights);
    ``logits``: a classifier's output, which its trace does not hold."""
    if trace is None:
        return ""
    finite = trace.finite_logits
    if finite is None:  # a trace from elsewhere (a scene, a test): check it now
        finite = finite_logits(trace, None) if "logits" in trace else all_finite(logits)
        trace.finite_logits = finite
    if finite:
        return ""
    first = next((s.name for s in trace.steps
                  if s.name in trace and trace[s.name].is_floating_point()
                  and not finite_or_masked(trace[s.name], s.name)), "the output")
    return (f"The model computes values that are not finite (NaN or ∞), first at "
            f"{first}: its weights are damaged or overflow. Views draw them blank; "
            "generation is not possible with this model.")
