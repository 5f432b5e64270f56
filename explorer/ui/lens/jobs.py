"""What the Lens tab computes for one input, as one job for its worker thread.

``LensRequest`` is a snapshot taken on the GUI thread (model, ids, the trace shown, the
chosen position, target and projection); ``run_job(request)`` runs every analysis the
tab shows (``explorer.analysis``) on any thread and returns a ``LensJob``: each result,
or the one-sentence message of the ``AnalysisError`` that analysis raised, so that one
bad request (an unknown target, a classifier, an empty text) shows in its own view and
the others still draw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from explorer.analysis import (
    AnalysisError,
    Attribution,
    LensResult,
    Projection,
    TokenLoss,
    check_token_output,
    direct_logit_attribution,
    embedding_projection,
    logit_lens,
    residual_projection,
    token_loss,
)
from explorer.analysis.common import recorded_with
from explorer.analysis.lens import default_targets

PCA_SOURCES = ("residual", "text", "all")
PCA_LABELS = {"residual": "residual stream at the selected step",
              "text": "token embeddings W_e of the text's tokens",
              "all": "token embeddings W_e of every token"}


@dataclass(frozen=True)
class LensRequest:
    """One input and what to compute for it. ``target`` is a token id or None (default:
    the next token, and the model's top-1 where no token follows); ``position`` None is
    the last one; ``full`` False computes the per-token loss alone (the tab is hidden)."""

    generation: int
    model: Any
    ids: tuple[int, ...]
    context: tuple[int, ...] | None = None
    trace: Any = field(default=None, compare=False, repr=False)
    notes: tuple[str, ...] = ()
    target: int | None = None
    target_error: str = ""
    position: int | None = None
    pca_source: str = "residual"
    pca_step: str | None = None
    full: bool = True
    mask_id: int | None = None
    specials: frozenset[int] = frozenset()
    compare_ids: tuple[int, ...] | None = None  # input B of the comparison, if any
    compare_trace: Any = field(default=None, compare=False, repr=False)  # B's, if recorded
    compare_labels: tuple[str, ...] = ()  # B's tokens as the grid's column headers
    columns: tuple[int, ...] | None = None  # only the lens at these positions (in view)


@dataclass
class LensJob:
    """The results of one ``LensRequest`` (None where not computed) and the messages of
    the analyses that could not run ("" where they ran)."""

    generation: int
    ids: tuple[int, ...]
    lens: LensResult | None = None
    lens_b: LensResult | None = None  # B's lens, of the same weights as ``lens``
    labels_b: tuple[str, ...] = ()
    dla: Attribution | None = None
    loss: TokenLoss | None = None
    pca: Projection | None = None
    position: int = 0
    targets: torch.Tensor | None = None  # (l,) the token followed at each position
    target_is_next: torch.Tensor | None = None  # (l,) bool: the actual next token
    pca_step: str | None = None
    errors: dict[str, str] = field(default_factory=dict)
    full: bool = True
    partial: bool = False  # the lens at the request's ``columns`` alone (shown first)


def _targets(request: LensRequest, trace: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """The token followed at each position: the user's, or the next token (decoder) /
    the token itself (encoder), and the model's own top-1 where there is none."""
    model = request.model
    x = torch.tensor(request.ids, dtype=torch.long)
    if request.target is not None:
        return torch.full((len(x),), request.target, dtype=torch.long), torch.zeros(
            len(x), dtype=torch.bool)
    t = default_targets(model, x)
    is_next = t >= 0
    missing = ~is_next
    if bool(missing.any()):
        logits = trace["logits"][0].float().cpu() if recorded_with(trace, model) \
            and "logits" in trace else None
        if logits is None or logits.shape[0] != len(x):
            with torch.no_grad():
                args = (x[None],) if request.context is None else (
                    torch.tensor([request.context]), x[None])
                logits = model(*args)[0].float().cpu()
        t = torch.where(missing, logits.argmax(-1), t)
    return t, is_next


def run_job(request: LensRequest) -> LensJob:
    """Every analysis of the tab for ``request`` (safe on a worker thread). A trace
    recorded with other weights than the request's model (training replaced them since)
    is not read: the analyses record what they need again, so that A, B and every view
    show one set of weights."""
    job = LensJob(request.generation, request.ids, full=request.full,
                  labels_b=request.compare_labels, partial=request.columns is not None)
    model = request.model
    cfg = model.cfg
    context = request.context
    trace = request.trace
    if request.columns is not None:
        return _partial(request, job)
    try:
        if not request.ids:
            raise AnalysisError("the text is empty: type some text first")
        check_token_output(cfg, request.notes)
        job.loss = _loss(request)
    except AnalysisError as exc:
        job.errors["loss"] = str(exc)
    if not request.full:
        return job
    n = len(request.ids)
    position = n - 1 if request.position is None else max(0, min(n - 1, request.position))
    job.position = position
    try:
        if not request.ids:
            raise AnalysisError("the text is empty: type some text first")
        check_token_output(cfg, request.notes)
        if request.target_error:
            raise AnalysisError(request.target_error)
        targets, is_next = _targets(request, trace)
        job.targets, job.target_is_next = targets, is_next
        job.lens = logit_lens(model, request.ids, context=context, trace=trace,
                              targets=targets)
        if request.compare_ids is not None:
            try:
                job.lens_b = logit_lens(model, request.compare_ids, context=context,
                                        trace=request.compare_trace)
            except AnalysisError as exc:
                job.errors["compare"] = f"input B: {exc}"
        job.dla = direct_logit_attribution(model, request.ids, position,
                                           int(targets[position]), context=context,
                                           trace=trace)
    except AnalysisError as exc:
        key = "dla" if job.lens is not None else "lens"
        job.errors[key] = str(exc)
        if key == "lens":
            job.errors["dla"] = str(exc)
    try:
        job.pca, job.pca_step = _projection(request)
    except AnalysisError as exc:
        job.errors["pca"] = str(exc)
    return job


def _partial(request: LensRequest, job: LensJob) -> LensJob:
    """The lens grid at the request's columns alone (the rest of the job follows in a
    full request); an analysis error leaves ``job.lens`` None (the full job says why)."""
    n = len(request.ids)
    job.position = n - 1 if request.position is None else max(0, min(n - 1, request.position))
    try:
        if not request.ids or request.target_error:
            return job
        check_token_output(request.model.cfg, request.notes)
        targets, is_next = _targets(request, request.trace)
        job.targets, job.target_is_next = targets, is_next
        job.lens = logit_lens(request.model, request.ids, context=request.context,
                              trace=request.trace, targets=targets,
                              positions=[t for t in request.columns if 0 <= t < n])
    except AnalysisError:
        job.lens = None
    return job


def _loss(request: LensRequest) -> TokenLoss:
    model = request.model
    if model.cfg.arch != "encoder":
        return token_loss(model, request.ids, context=request.context, trace=request.trace)
    if request.mask_id is None:
        raise AnalysisError("the masked-token loss needs a mask token, and this tokenizer "
                            "has none")
    masked = [t for t, i in enumerate(request.ids) if i not in request.specials]
    return token_loss(model, request.ids, masked=masked, mask_id=request.mask_id,
                      together=False)


def _projection(request: LensRequest) -> tuple[Projection, str | None]:
    model = request.model
    if request.pca_source == "all":
        return embedding_projection(model), None
    if request.pca_source == "text":
        return embedding_projection(model, request.ids), None
    step = request.pca_step
    trace = request.trace
    usable = (step is not None and trace is not None and step in trace
              and not step.startswith("encoder.")
              and trace[step].dim() == 3 and trace[step].shape[1] == len(request.ids))
    if not usable:
        from explorer.analysis import residual_points

        step = residual_points(model)[-1].name
    return residual_projection(model, request.ids, step, context=request.context,
                               trace=trace), step
