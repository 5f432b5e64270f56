"""Comparing two inputs A and B: the same view side by side, and A − B.

Two texts usually differ in length. Position axes are aligned on the common prefix (the
first min(l_A, l_B) positions of each), and ``lengths_differ`` says that the rest was
left out. For the output distributions, KL(P_A ‖ P_B) at each aligned position.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from explorer.analysis.common import AnalysisError, Ids, prepare, trace_for
from explorer.analysis.lens import LensResult
from explorer.core.models import TransformerModel
from explorer.trace import Trace


@dataclass(frozen=True)
class Comparison:
    """A and B cut to their common prefix along the position axes, and A − B.

    ``lengths_a``/``lengths_b`` are the full sizes of the aligned axes (in ``axes``
    order); ``kl`` (aligned positions,) is KL(P_A ‖ P_B) in nats for output distributions,
    None otherwise.
    """

    a: torch.Tensor
    b: torch.Tensor
    diff: torch.Tensor
    axes: tuple[int, ...]
    lengths_a: tuple[int, ...]
    lengths_b: tuple[int, ...]
    kl: torch.Tensor | None = None

    @property
    def lengths_differ(self) -> bool:
        return self.lengths_a != self.lengths_b

    @property
    def note(self) -> str:
        """One line for the view: empty when the lengths agree."""
        if not self.lengths_differ:
            return ""
        common = tuple(min(a, b) for a, b in zip(self.lengths_a, self.lengths_b))
        unit = "positions" if self.lengths_a != (1,) else "position"
        return (f"A has {_sizes(self.lengths_a)} {unit} and B {_sizes(self.lengths_b)}: "
                f"compared on the first {_sizes(common)}")


def _sizes(lengths: tuple[int, ...]) -> str:
    return " × ".join(str(n) for n in lengths)


def align(a: torch.Tensor, b: torch.Tensor, axes: Sequence[int]) -> Comparison:
    """Cut a and b to their common prefix along ``axes`` (position axes); other axes must
    agree."""
    if a.dim() != b.dim():
        raise AnalysisError(f"cannot compare a {a.dim()}-D and a {b.dim()}-D view")
    axes = tuple(ax % a.dim() for ax in axes)
    for ax in range(a.dim()):
        if ax not in axes and a.shape[ax] != b.shape[ax]:
            raise AnalysisError(f"the two views differ in a non-position axis ({a.shape[ax]} "
                                f"vs {b.shape[ax]}): compare them with the same model")
    index_a, index_b = [slice(None)] * a.dim(), [slice(None)] * b.dim()
    for ax in axes:
        n = min(a.shape[ax], b.shape[ax])
        index_a[ax] = index_b[ax] = slice(0, n)
    ca, cb = a[tuple(index_a)], b[tuple(index_b)]
    return Comparison(ca, cb, ca.float() - cb.float(), axes,
                      tuple(a.shape[ax] for ax in axes), tuple(b.shape[ax] for ax in axes))


def kl_divergence(logits_a: torch.Tensor, logits_b: torch.Tensor) -> torch.Tensor:
    """KL(P_A ‖ P_B) = Σ_v P_A(v) (log P_A(v) − log P_B(v)) over the last axis, in nats."""
    la = torch.log_softmax(logits_a.double(), dim=-1)
    lb = torch.log_softmax(logits_b.double(), dim=-1)
    kl = (la.exp() * (la - lb)).sum(dim=-1)
    return kl.clamp(min=0).float()


def compare_attention(trace_a: Trace, trace_b: Trace, step: str) -> Comparison:
    """An attention pattern step (e.g. ``blocks.0.attn.pattern``, (H, l_x, l_z) of batch
    element 0) of two traces, aligned on both token axes."""
    for which, trace in (("A", trace_a), ("B", trace_b)):
        if step not in trace:
            raise AnalysisError(f"input {which} has no step {step!r}")
    return align(trace_a[step][0], trace_b[step][0], (-2, -1))


def compare_lens(lens_a: LensResult, lens_b: LensResult,
                 quantity: str = "top_prob") -> Comparison:
    """Two lens grids (points × positions) of one model: ``quantity`` is "top_prob" (the
    top-1 token's probability), "entropy" or "target_prob"."""
    values = {
        "top_prob": lambda r: r.top_probs[..., 0],
        "entropy": lambda r: r.entropy,
        "target_prob": lambda r: r.target_probs,
    }
    if quantity not in values:
        raise AnalysisError(f"unknown lens quantity {quantity!r}: use one of "
                            f"{', '.join(values)}")
    if [p.name for p in lens_a.points] != [p.name for p in lens_b.points]:
        raise AnalysisError("the two lens grids have different points: compare them with "
                            "the same model")
    return align(values[quantity](lens_a), values[quantity](lens_b), (1,))


def compare_outputs(model: TransformerModel, ids_a: Ids, ids_b: Ids, *,
                    context_a: Ids | None = None, context_b: Ids | None = None,
                    trace_a: Trace | None = None, trace_b: Trace | None = None) -> Comparison:
    """The output distributions P_A, P_B (positions, N_V) on the common prefix, P_A − P_B
    and KL(P_A ‖ P_B) at each aligned position."""
    logits = []
    for ids, context, trace in ((ids_a, context_a, trace_a), (ids_b, context_b, trace_b)):
        inputs = prepare(model, ids, context)
        logits.append(trace_for(model, inputs, trace, ["logits"])["logits"][0].float())
    return compare_logits(*logits)


def compare_logits(logits_a: torch.Tensor, logits_b: torch.Tensor) -> Comparison:
    """Two runs' logits (positions, N_V) as ``compare_outputs`` compares them."""
    la, lb = logits_a.float(), logits_b.float()
    n = min(la.shape[0], lb.shape[0])
    probs = align(torch.softmax(la, dim=-1), torch.softmax(lb, dim=-1), (0,))
    return Comparison(probs.a, probs.b, probs.diff, probs.axes, probs.lengths_a,
                      probs.lengths_b, kl_divergence(la[:n], lb[:n]))
