"""Functions attached at hook points for a block, in front of whatever is attached there
(a recording then stores the changed values): what interventions and SAE splices share."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import torch

from explorer.analysis.common import AnalysisError
from explorer.analysis.interventions import TensorFn
from explorer.core.models import TransformerModel


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
