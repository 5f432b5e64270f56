"""Record every intermediate of a forward pass, by name, in execution order."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

import torch

from explorer.core.config import ModelConfig
from explorer.core.mlp import activate
from explorer.core.models import TransformerModel
from explorer.trace.steps import Step, describe

# Steps a lean trace does not store: each is recomputed exactly from stored steps when
# asked for (scores from Q and K, the mask by the paper's rule, the activation, softmax).
DERIVABLE = (".scores", ".masked_scores", ".mlp.hidden", "probs")
_CACHED = 4  # derived tensors kept at once (the views ask for the same few repeatedly)


def derivable(name: str) -> bool:
    return name == "probs" or name.endswith(DERIVABLE[:3])


class Trace(Mapping[str, torch.Tensor]):
    """An ordered mapping step name -> tensor (detached, on CPU, batch first).

    ``steps`` describes each recorded tensor in the paper's terms; ``paper(name)``
    returns one batch element in the paper's orientation (tokens along columns).
    A lean trace (``record(..., lean=True)``) holds None for the steps in ``DERIVABLE``
    and computes them when asked, so a long text through a big model keeps only what
    cannot be recomputed cheaply.
    """

    def __init__(self, tensors: dict[str, torch.Tensor | None], cfg: ModelConfig) -> None:
        self._tensors = tensors
        self._derived: dict[str, torch.Tensor] = {}
        self.cfg = cfg
        self.steps: list[Step] = [describe(name, cfg) for name in tensors]
        self._index = {step.name: i for i, step in enumerate(self.steps)}

    def __getitem__(self, name: str) -> torch.Tensor:
        t = self._tensors[name]
        if t is not None:
            return t
        if name not in self._derived:
            if len(self._derived) >= _CACHED:
                self._derived.pop(next(iter(self._derived)))
            self._derived[name] = self._derive(name)
        return self._derived[name]

    def _derive(self, name: str) -> torch.Tensor:
        if name == "probs":
            return torch.softmax(self["logits"], dim=-1)
        prefix, _, step = name.rpartition(".")
        if step == "scores":
            return self[f"{prefix}.q"] @ self[f"{prefix}.k"].transpose(-2, -1)
        if step == "masked_scores":
            s = self[f"{prefix}.scores"]
            if not self._causal(prefix):
                return s
            l_x, l_z = s.shape[-2:]
            allowed = torch.ones(l_x, l_z, dtype=torch.bool).tril()  # Mask[t_z, t_x] = t_z ≤ t_x
            return s.masked_fill(~allowed, float("-inf"))
        if name.endswith(".mlp.hidden"):
            return activate(self.cfg.activation, self[f"{name}_pre"])
        raise KeyError(name)

    def _causal(self, prefix: str) -> bool:
        """Whether the attention at ``prefix`` is the decoder's unidirectional one."""
        if not prefix.endswith(".attn"):
            return False  # cross-attention sees every context token
        if self.cfg.arch == "decoder":
            return True
        return self.cfg.arch == "encoder-decoder" and prefix.startswith("decoder.")

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
        t = self[name][batch]
        return t.transpose(-1, -2) if t.dim() >= 2 else t

    def sizes(self, name: str) -> dict[str, int]:
        """The size of each of the step's paper symbols."""
        step = self.step(name)
        return dict(zip(step.dims, self.paper(name).shape))

    def nbytes(self) -> int:
        """Bytes held by the stored steps (not the derived ones a lean trace recomputes)."""
        return sum(t.numel() * t.element_size() for t in self._tensors.values()
                   if t is not None)


@contextmanager
def hooks_attached(model: TransformerModel, store: dict[str, torch.Tensor | None],
                   names: Iterable[str] | None = None, lean: bool = False):
    """Attach a storing function to every hook point, for the duration of the block.

    ``lean``: the steps ``derivable`` from others are listed (stored as None), not kept.
    """
    wanted = None if names is None else set(names)
    points = model.hook_points()

    def keep(name: str, x: torch.Tensor) -> torch.Tensor:
        if wanted is None or name in wanted:
            store[name] = None if lean and derivable(name) else x.detach().to("cpu")
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
    lean: bool = False,
    **kwargs,
) -> tuple[torch.Tensor, Trace]:
    """Run ``model(*inputs, **kwargs)`` and record every step (or only ``names``).

    Every hook point is attached, so the forward pass is exactly the one a plain
    call makes; the logits are bit-identical. ``lean=True`` keeps the same steps but
    recomputes the ``DERIVABLE`` ones on demand (not with a padding mask in ``kwargs``,
    which the recomputed masks would not know).
    """
    if lean and kwargs:
        raise ValueError("a lean trace recomputes masks by the paper's rule: record with "
                         f"{', '.join(kwargs)} needs lean=False")
    store: dict[str, torch.Tensor | None] = {}
    with torch.no_grad(), hooks_attached(model, store, names, lean):
        logits = model(*inputs, **kwargs)
    return logits, Trace(store, model.cfg)
