"""Record every intermediate of a forward pass, by name, in execution order."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

import torch

from explorer.core.config import ModelConfig
from explorer.core.models import TransformerModel
from explorer.trace.steps import Step, describe


class Trace(Mapping[str, torch.Tensor]):
    """An ordered mapping step name -> tensor (detached, on CPU, batch first).

    ``steps`` describes each recorded tensor in the paper's terms; ``paper(name)``
    returns one batch element in the paper's orientation (tokens along columns).
    """

    def __init__(self, tensors: dict[str, torch.Tensor], cfg: ModelConfig) -> None:
        self._tensors = tensors
        self.cfg = cfg
        self.steps: list[Step] = [describe(name, cfg) for name in tensors]
        self._index = {step.name: i for i, step in enumerate(self.steps)}

    def __getitem__(self, name: str) -> torch.Tensor:
        return self._tensors[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tensors)

    def __len__(self) -> int:
        return len(self._tensors)

    def step(self, name: str) -> Step:
        return self.steps[self._index[name]]

    def index(self, name: str) -> int:
        return self._index[name]

    def paper(self, name: str, batch: int = 0) -> torch.Tensor:
        """Tensor ``name`` of batch element ``batch`` as the paper writes it.

        Torch's (l, d) becomes (d, l); per-head (H, l_x, d) becomes (H, d, l_x); the
        scores (H, l_x, l_z) become S ∈ (H, l_z, l_x).
        """
        t = self._tensors[name][batch]
        return t.transpose(-1, -2) if t.dim() >= 2 else t

    def sizes(self, name: str) -> dict[str, int]:
        """The size of each of the step's paper symbols."""
        step = self.step(name)
        return dict(zip(step.dims, self.paper(name).shape))

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self._tensors.values())


@contextmanager
def hooks_attached(model: TransformerModel, store: dict[str, torch.Tensor],
                   names: Iterable[str] | None = None):
    """Attach a storing function to every hook point, for the duration of the block."""
    wanted = None if names is None else set(names)
    points = model.hook_points()

    def keep(name: str, x: torch.Tensor) -> torch.Tensor:
        if wanted is None or name in wanted:
            store[name] = x.detach().to("cpu")
        return x

    for point in points.values():
        point.fn = keep
    try:
        yield points
    finally:
        for point in points.values():
            point.fn = None


def record(
    model: TransformerModel,
    *inputs: torch.Tensor,
    names: Iterable[str] | None = None,
    **kwargs,
) -> tuple[torch.Tensor, Trace]:
    """Run ``model(*inputs, **kwargs)`` and record every step (or only ``names``).

    Every hook point is attached, so the forward pass is exactly the one a plain
    call makes; the logits are bit-identical.
    """
    store: dict[str, torch.Tensor] = {}
    with torch.no_grad(), hooks_attached(model, store, names):
        logits = model(*inputs, **kwargs)
    return logits, Trace(store, model.cfg)
