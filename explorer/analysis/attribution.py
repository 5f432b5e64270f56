"""Attribution patching (Nanda 2023; Syed et al. 2023): the linear estimate of every
activation patch from one forward pass on each text and one backward pass.

Patching the clean run's activation a into the corrupted run changes the metric by about
    (a_clean − a_corrupted) · ∂metric/∂a,
the gradient taken on the corrupted run. The sites are those of the exact sweeps
(``explorer.analysis.patching``: "resid", "attn_out", "mlp_out" per layer and position,
"head_out" per layer and head, over all positions), so the two compare cell by cell, and
each head's query, key and value ("q", "k", "v", per layer and head, over all positions).
An encoder-decoder (Algorithm 8) corrupts the context z, keeps the decoder's input x, and
adds the decoder's cross-attention ("cross_out", "cross_head_out", "cross_q", "cross_k",
"cross_v") and the encoder's sites (named "encoder.resid", …).

The metric (``explorer.analysis.metric``) is normalised, 0 = corrupted and 1 = clean: the
logit difference at any position, the loss of the target, or KL to the clean run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from explorer.analysis.common import AnalysisError, Ids, check_token_output, prepare
from explorer.analysis.intervening import functions_attached
from explorer.analysis.locate import resid_step, stack_module
from explorer.analysis.metric import Metric
from explorer.core.models import TransformerModel
from explorer.trace import record

HEAD_SITES = ("head_out", "q", "k", "v", "cross_head_out", "cross_q", "cross_k", "cross_v")
_STEPS = {"attn_out": "attn.out", "mlp_out": "mlp.out", "head_out": "attn.head_out",
          "q": "attn.q", "k": "attn.k", "v": "attn.v", "cross_out": "cross_attn.out",
          "cross_head_out": "cross_attn.head_out", "cross_q": "cross_attn.q",
          "cross_k": "cross_attn.k", "cross_v": "cross_attn.v"}
_SELF = ("resid", "attn_out", "mlp_out", "head_out", "q", "k", "v")
_CROSS = ("cross_out", "cross_head_out", "cross_q", "cross_k", "cross_v")


def attribution_sites(model: TransformerModel) -> tuple[str, ...]:
    """The sites of this model, in the order a sweep lists them."""
    if model.cfg.arch != "encoder-decoder":
        return _SELF
    return (*_SELF[:3], "cross_out", *_SELF[3:], *_CROSS[1:],
            *(f"encoder.{s}" for s in _SELF))


@dataclass(frozen=True)
class Attribution:
    """One site's linear estimates (layers × positions, or layers × heads), in units of
    the normalised metric."""

    site: str
    values: torch.Tensor

    @property
    def columns(self) -> str:
        return "head" if self.site.removeprefix("encoder.") in HEAD_SITES else "position"


def _stack(model: TransformerModel, site: str) -> str | None:
    if model.cfg.arch != "encoder-decoder":
        return None
    return "encoder" if site.startswith("encoder.") else "decoder"


def site_steps(model: TransformerModel, site: str) -> list[str]:
    """The trace steps of ``site``, one per layer."""
    stack = _stack(model, site)
    name = site.removeprefix("encoder.")
    prefix = "" if stack is None else f"{stack}."
    n = len(stack_module(model, stack).blocks)
    if name == "resid":
        return [resid_step(model, i, stack) for i in range(n)]
    return [f"{prefix}blocks.{i}.{_STEPS[name]}" for i in range(n)]


def attribution_inputs(model: TransformerModel, clean: Ids, corrupted: Ids,
                       decoder: Ids | None = None):
    """The checked clean and corrupted ``Inputs`` (an encoder-decoder's contexts are
    ``clean``/``corrupted``, its decoder input ``decoder``); AnalysisError for lengths
    that differ or a model without a token output."""
    cfg = model.cfg
    check_token_output(cfg)
    if cfg.arch == "encoder-decoder":
        if decoder is None:
            raise AnalysisError("an encoder-decoder needs the decoder's input x besides the "
                                "clean and corrupted contexts")
        a, b = prepare(model, decoder, clean), prepare(model, decoder, corrupted)
        la, lb, what = a.z.shape[1], b.z.shape[1], "context"
    else:
        a, b = prepare(model, clean), prepare(model, corrupted)
        la, lb, what = a.length, b.length, "text"
    if la != lb:
        raise AnalysisError(f"the clean {what} has {la} tokens and the corrupted one {lb}: "
                            "patching needs texts of the same token length")
    if not stack_module(model, None).blocks:
        raise AnalysisError("this model has no layers to patch")
    return a, b


def attribution_patching(model: TransformerModel, clean: Ids, corrupted: Ids, target: int,
                         other: int | None = None, sites: str | Sequence[str] | None = None,
                         *, metric: str = "logit_diff", position: int = -1,
                         decoder: Ids | None = None) -> tuple[dict[str, Attribution], Metric]:
    """The linear estimates of patching each activation of ``sites`` (default all of
    ``attribution_sites``) from the clean run into the corrupted one, by site, and the
    metric (its clean and corrupted values). ``target``/``other``: token ids; ``metric``
    one of ``explorer.analysis.metric.METRICS`` at ``position``. AnalysisError for an
    unknown site, texts of different lengths, equal tokens, a classifier."""
    known = attribution_sites(model)
    sites = list(known) if sites is None else [sites] if isinstance(sites, str) else list(sites)
    bad = [s for s in sites if s not in known]
    if bad or not sites:
        raise AnalysisError(f"site {bad[0] if bad else None!r} is not one of "
                            f"{', '.join(known)}")
    a, b = attribution_inputs(model, clean, corrupted, decoder)
    steps = {s: site_steps(model, s) for s in sites}
    names = sorted({n for v in steps.values() for n in v})
    with torch.no_grad():
        clean_logits, trace = record(model, *a.args(), names=["logits", *names])
    captured: dict[str, torch.Tensor] = {}

    def capture(name: str):
        def keep(x: torch.Tensor) -> torch.Tensor:
            if not x.requires_grad:
                x = x.detach().requires_grad_()
            captured[name] = x
            return x
        return keep

    with torch.enable_grad(), functions_attached(model, {n: [capture(n)] for n in names}):
        logits = model(*b.args())
        m = Metric(metric, model.cfg, clean_logits, logits.detach(), target, other, position)
        grads = torch.autograd.grad(m.normalised(logits).sum(), [captured[n] for n in names],
                                    allow_unused=True)
    grad = dict(zip(names, grads))
    out = {}
    for site, layer_steps in steps.items():
        rows = []
        for name in layer_steps:
            g = grad[name]
            delta = trace[name].to(captured[name]) - captured[name].detach()
            effect = (delta * g).double() if g is not None else torch.zeros_like(delta).double()
            if site.removeprefix("encoder.") in HEAD_SITES:
                rows.append(effect[0].sum(dim=(-2, -1)))  # (H,)
            else:
                rows.append(effect[0].sum(dim=-1))  # (l,)
        out[site] = Attribution(site, torch.stack(rows).cpu())
    return out, m


def correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    """Pearson's r of two same-shaped grids, cell by cell (nan when either is constant)."""
    x, y = a.double().flatten(), b.double().flatten()
    x, y = x - x.mean(), y - y.mean()
    den = float(x.norm() * y.norm())
    return float((x * y).sum()) / den if den > 0 else float("nan")
