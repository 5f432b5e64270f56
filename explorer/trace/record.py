"""Record every intermediate of a forward pass, by name, in execution order."""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

import torch

from explorer.core.config import ModelConfig
from explorer.core.mlp import activate
from explorer.core.models import TransformerModel
from explorer.core.walk import weight_tensors
from explorer.trace.steps import Step, describe

# Steps a lean trace does not store: each is recomputed exactly from stored steps when
# asked for (scores from Q and K, the mask by the paper's rule, the activation, softmax).
DERIVABLE = (".scores", ".masked_scores", ".mlp.hidden", "probs")
_CACHED = 4  # derived tensors kept at once (the views ask for the same few repeatedly)


def derivable(name: str) -> bool:
    return name == "probs" or name.endswith(DERIVABLE[:3])


class Pieces:
    """A step continued after an edit, joined when first read (``Trace.__getitem__``).

    ``parts`` are (tensor, n): the first n positions of each tensor, one after the other
    along the position axis (dim 2 of per-head tensors (B, H, l, ·), else dim 1). For a
    self-attention ``square`` step (B, H, l_x, l_z) the parts are rows; a row has as many
    key columns as its tensor, the rest of the row is ``fill`` (−∞ or 0: masked keys).
    Parts are snapshots shared with earlier traces and never written.
    """

    __slots__ = ("parts", "square", "fill")

    def __init__(self, parts: list[tuple[torch.Tensor, int]], square: bool = False,
                 fill: float = 0.0) -> None:
        self.parts, self.square, self.fill = parts, square, fill

    @staticmethod
    def axis(t: torch.Tensor) -> int:
        return 2 if t.dim() == 4 else 1

    @property
    def length(self) -> int:
        return sum(n for _, n in self.parts)

    @property
    def shape(self) -> tuple[int, ...]:
        last = self.parts[-1][0]
        shape = list(last.shape)
        shape[self.axis(last)] = self.length
        if self.square:
            shape[-1] = self.length
        return tuple(shape)

    def nbytes(self) -> int:
        return math.prod(self.shape) * self.parts[0][0].element_size()

    def join(self) -> torch.Tensor:
        first = self.parts[0][0]
        if not self.square:
            axis = self.axis(first)
            if len(self.parts) == 1:  # the start of one snapshot (an edit cut the text)
                start = first.narrow(axis, 0, self.parts[0][1])
                if start.is_contiguous():  # its own block of memory, never written
                    return start
            return torch.cat([t.narrow(axis, 0, n) for t, n in self.parts], dim=axis)
        out = torch.full(self.shape, self.fill, dtype=first.dtype)
        row, width = 0, out.shape[-1]
        for t, n in self.parts:
            cols = min(t.shape[-1], width)
            out[..., row:row + n, :cols] = t[..., :n, :cols]
            row += n
        return out


@functools.lru_cache(maxsize=8)
def _rule_mask(l_x: int, l_z: int, causal: bool) -> torch.Tensor:
    """Masked (True) where Mask[t_z, t_x] = 0 by the paper's rule: t_z > t_x when causal
    (shared, never written: callers only read it)."""
    if not causal:
        return torch.zeros(l_x, l_z, dtype=torch.bool)
    return ~torch.ones(l_x, l_z, dtype=torch.bool).tril()


class Trace(Mapping[str, torch.Tensor]):
    """An ordered mapping step name -> tensor (detached, on CPU, batch first).

    ``steps`` describes each recorded tensor in the paper's terms; ``paper(name)``
    returns one batch element in the paper's orientation (tokens along columns).
    A lean trace (``record(..., lean=True)``) holds None for the steps in ``DERIVABLE``
    and computes them when asked, so a long text through a big model keeps only what
    cannot be recomputed cheaply.
    """

    def __init__(self, tensors: dict[str, torch.Tensor | Pieces | None], cfg: ModelConfig,
                 steps: list[Step] | None = None) -> None:
        self._tensors = tensors
        self._derived: dict[str, torch.Tensor] = {}
        self.cfg = cfg
        self.steps: list[Step] = steps if steps is not None else [
            describe(name, cfg) for name in tensors]
        self._index = {step.name: i for i, step in enumerate(self.steps)}
        # Set by ``record``: the weights it ran with (``weights_key``), whether every
        # step was asked for and whether it is lean; ``first_new`` is the first position
        # of x (the decoder's primary) that was computed for this trace (0: all of them;
        # more when ``record_edit`` reused an earlier trace's prefix).
        self.weights: tuple | None = None
        self.complete = False
        self.lean = False
        self.first_new = 0
        # What changed the forward pass (``explorer.analysis.record_intervened``): the
        # intervention values applied while recording; () for the model's own run.
        self.interventions: tuple = ()
        # Whether every logit is finite, once checked (``explorer.state`` checks each new
        # trace off the GUI thread; a continued one only in its new positions).
        self.finite_logits: bool | None = None
        # The key/value buffers its K and V are views of, when ``record_edit`` continued
        # it in place (``explorer.trace.splice.Room``); None: its K and V are its own.
        self.room = None

    def __getitem__(self, name: str) -> torch.Tensor:
        t = self._tensors[name]
        if isinstance(t, Pieces):  # a continued step, joined on first read
            t = self._tensors[name] = t.join()
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

    def positions(self, name: str, start: int = 0, stop: int | None = None) -> torch.Tensor:
        """Step ``name`` (per position) at positions ``start`` to ``stop`` (default: the
        end): a view of the stored tensor that holds them when one does, without joining
        a continued step (the prefix an edit kept, the positions it computed)."""
        entry = self._tensors[name]
        if isinstance(entry, Pieces) and not entry.square:
            end = entry.length if stop is None else stop
            offset = 0
            for t, n in entry.parts:
                if offset <= start and end <= offset + n:
                    return t.narrow(Pieces.axis(t), start - offset, end - start)
                offset += n
        t = self[name]
        axis = Pieces.axis(t)
        return t.narrow(axis, start, (t.shape[axis] if stop is None else stop) - start)

    def new_positions(self, name: str) -> torch.Tensor:
        """Step ``name`` at the positions this trace computed (from ``first_new`` on)."""
        return self.positions(name, self.first_new)

    def masked(self, prefix: str, batch: int = 0) -> torch.Tensor:
        """Where the attention at ``prefix`` was masked (True; the score was −∞), as
        (..., l_x, l_z) bool in the scores' orientation: read from a stored masked-score
        step, or for a lean trace from the paper's mask rule, without recomputing the
        scores."""
        stored = self._tensors.get(f"{prefix}.masked_scores")
        if isinstance(stored, (torch.Tensor, Pieces)):
            return torch.isneginf(self[f"{prefix}.masked_scores"][batch])
        pattern = self[f"{prefix}.pattern"][batch]
        l_x, l_z = pattern.shape[-2:]
        return _rule_mask(l_x, l_z, self._causal(prefix))

    def _causal(self, prefix: str) -> bool:
        """Whether the attention at ``prefix`` is the decoder's unidirectional one."""
        if not prefix.endswith(".attn"):
            return False  # cross-attention sees every context token
        if self.cfg.arch == "decoder":
            return True
        return self.cfg.arch == "encoder-decoder" and prefix.startswith("decoder.")

    def __iter__(self) -> Iterator[str]:
        return iter(self._tensors)

    def __contains__(self, name: object) -> bool:
        return name in self._tensors  # without joining or deriving the step

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
        return sum(t.nbytes() if isinstance(t, Pieces) else t.numel() * t.element_size()
                   for t in self._tensors.values() if t is not None)


def weights_key(model: torch.nn.Module) -> tuple:
    """Changes whenever a parameter or buffer of ``model`` is replaced or changed in place
    (the version counters torch keeps for autograd), so a trace knows its weights."""
    return tuple((id(t), t.data_ptr(), t._version) for t in weight_tensors(model))


def _storage(t: torch.Tensor) -> int:
    return t.untyped_storage().data_ptr()


def live_storages(model: torch.nn.Module, *inputs: object) -> set[int]:
    """The memory of the model's weights and buffers and of the inputs."""
    tensors = weight_tensors(model) + [t for t in inputs if isinstance(t, torch.Tensor)]
    return {_storage(t) for t in tensors}


def snapshot(x: torch.Tensor, live: set[int], seen: set[int],
             rooms: frozenset[int] = frozenset()) -> torch.Tensor:
    """``x`` detached, on the CPU, owning exactly its memory: a copy when it is a view
    into a weight, a buffer or an input (e.g. the positional embedding W_p[:, :ℓ]), into
    a larger tensor, or into a tensor another step already holds. A view into one of the
    key/value buffers ``rooms`` (storages, ``explorer.trace.splice``) is kept as it is."""
    t = x.detach().to("cpu")
    ptr = _storage(t)
    if ptr in rooms:
        return t
    if (ptr in live or ptr in seen
            or t.untyped_storage().nbytes() != t.numel() * t.element_size()):
        t = t.clone(memory_format=torch.contiguous_format)
        ptr = _storage(t)
    seen.add(ptr)
    return t


@contextmanager
def hooks_attached(model: TransformerModel, store: dict[str, torch.Tensor | None],
                   names: Iterable[str] | None = None, lean: bool = False,
                   inputs: tuple = (), rooms: frozenset[int] = frozenset()):
    """Attach a storing function to every hook point, for the duration of the block.

    ``lean``: the steps ``derivable`` from others are listed (stored as None), not kept.
    Every stored tensor is a snapshot (``snapshot``): training the model afterwards or
    changing ``inputs`` in place leaves it as it was. Views into the key/value buffers
    ``rooms`` (their storages) are kept as views: a continued trace's K and V.
    """
    wanted = None if names is None else set(names)
    points = model.hook_points()
    live, seen = live_storages(model, *inputs), set()

    def keep(name: str, x: torch.Tensor) -> torch.Tensor:
        if wanted is None or name in wanted:
            store[name] = (None if lean and derivable(name)
                           else snapshot(x, live, seen, rooms))
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
    key = weights_key(model)
    with torch.no_grad(), hooks_attached(model, store, names, lean, inputs):
        logits = model(*inputs, **kwargs)
    trace = Trace(store, model.cfg)
    trace.weights = key if not kwargs else None  # a padded batch is never continued
    trace.complete, trace.lean = names is None, lean
    return logits, trace
