"""Record an edited input by computing only what the edit changed (decoders).

Under the decoder's unidirectional mask (Algorithm 10, and the decoder of Algorithm 8)
nothing at a position depends on later tokens. When an edit keeps the first ``p``
tokens, ``record_edit`` runs the model on the tokens from ``p`` on, attending to the
keys and values the previous trace stored for the first ``p`` (``explorer.core.Prefix``),
and splices the new columns into the previous trace. The result equals a full
recording: the same steps, shapes and values (up to float rounding).

Everything is recomputed (``record``) when the previous trace cannot be continued: an
encoder (every position sees every token), another model or changed weights, another
context z (encoder-decoder), a padding mask, a partial or differently lean trace, a
config field this module does not know, or no common prefix.

Keys and values are not joined on every keystroke: a line of continued traces shares one
``Room``, key/value buffers with room after the text, and each continuation writes its
new positions into them in place (``explorer.core.Prefix.rooms``); its trace's K and V
are views of the buffers. A continuation writes in place only where no living trace of
the line holds those positions (a trace still shown or read elsewhere keeps its values);
otherwise, or when the buffers are full, it starts a new room with a copy of the prefix.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import weakref

import torch

from explorer.core.config import ModelConfig
from explorer.core.models import Prefix, TransformerModel
from explorer.trace.record import Pieces, Trace, hooks_attached, record, weights_key

# The config fields whose every value ``record_edit`` is tested with (tests/trace). A
# field added later (a new model family) makes it record in full unless at its default,
# until the splice is checked for it.
KNOWN_FIELDS = frozenset({
    "arch", "vocab_size", "l_max", "d_e", "n_heads", "n_layers", "d_mlp", "d_attn", "d_mid",
    "n_enc_layers", "n_dec_layers", "norm", "norm_placement", "positions", "activation",
    "tie_unembedding", "bias", "norm_eps", "scale_embedding", "embed_norm", "n_token_types",
    "final_head", "unembed_bias", "shared_positions", "sinusoid_base", "sinusoid_style",
    "n_classes", "extra",
    # per-stack sizes, grouped-query attention (the stored K and V are per query head),
    # SwiGLU (per position), biases; rotary positions are excluded by _POSITIONS
    "n_enc_heads", "n_dec_heads", "d_enc_mlp", "d_dec_mlp", "n_kv_heads", "qkv_bias",
    "out_bias", "rope_base", "rope_scale",
})
_POSITIONS = ("learned", "sinusoidal", "none")


def splice_supported(cfg: ModelConfig) -> bool:
    """Whether a trace of this model may be continued rather than recorded again."""
    if cfg.arch not in ("decoder", "encoder-decoder") or cfg.positions not in _POSITIONS:
        return False
    if cfg.arch == "decoder" and cfg.n_token_types:
        return False
    for f in dataclasses.fields(cfg):
        if f.name in KNOWN_FIELDS:
            continue
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING \
            else f.default
        if getattr(cfg, f.name) != default:
            return False
    return True


def common_prefix(a: torch.Tensor, b: torch.Tensor) -> int:
    """How many leading positions two (B, l) id tensors share in every row."""
    if a.shape[0] != b.shape[0]:
        return 0
    n = min(a.shape[1], b.shape[1])
    differ = (a[:, :n] != b[:, :n]).any(dim=0).nonzero()
    return int(differ[0]) if differ.numel() else n


def _kind(name: str, decoder_prefix: str) -> str:
    """How step ``name`` changes with the primary's positions.

    rows: one entry per position (its position axis grows); square: self-attention
    queries × keys; keys: self-attention keys/values; fixed: does not depend on x."""
    if not name.startswith(decoder_prefix) and name not in ("logits", "probs"):
        return "fixed"  # the encoder's steps (encoder-decoder)
    last = name.rsplit(".", 1)[-1]
    if ".attn." in name:
        if last in ("k", "v"):
            return "keys"
        if last in ("scores", "masked_scores", "pattern"):
            return "square"
    elif ".cross_attn." in name and last in ("k", "v"):
        return "fixed"
    return "rows"


MAX_PARTS = 16  # a step continued this many times in a row without being read is joined


def _parts(entry: torch.Tensor | Pieces) -> list[tuple[torch.Tensor, int]]:
    if isinstance(entry, Pieces):
        return list(entry.parts)
    return [(entry, entry.shape[Pieces.axis(entry)])]


def _cut(parts: list[tuple[torch.Tensor, int]], p: int) -> list[tuple[torch.Tensor, int]]:
    """The parts of the first p positions."""
    out, left = [], p
    for t, n in parts:
        if left <= 0:
            break
        out.append((t, min(n, left)))
        left -= n
    return out


def _entry(parts: list[tuple[torch.Tensor, int]], square: bool = False,
           fill: float = 0.0) -> torch.Tensor | Pieces:
    t, n = parts[0]
    if len(parts) == 1 and n == t.shape[Pieces.axis(t)] and (not square or t.shape[-1] == n):
        return t  # all of one tensor
    pieces = Pieces(parts, square, fill)
    return pieces.join() if len(parts) > MAX_PARTS else pieces


def _square_fill(name: str) -> float:
    return float("-inf") if name.endswith(".masked_scores") else 0.0


def _truncated(name: str, t: torch.Tensor | Pieces | None, kind: str,
               p: int) -> torch.Tensor | Pieces | None:
    if t is None or kind == "fixed":
        return t
    return _entry(_cut(_parts(t), p), kind == "square", _square_fill(name))


def _extended(name: str, previous: Trace, new: torch.Tensor | None, kind: str, p: int,
              done: dict[str, torch.Tensor | Pieces | None]) -> torch.Tensor | Pieces | None:
    if new is None or kind in ("fixed", "keys"):
        return new
    old = previous._tensors[name]
    parts = _cut(_parts(old), p) + [(new, new.shape[Pieces.axis(new)])]
    if kind == "rows":
        return _entry(parts)
    if not name.endswith(".scores"):  # masked: −∞ before the softmax, 0 after it
        return _entry(parts, True, _square_fill(name))
    # q·k is computed for every pair, masked or not: the earlier queries' new columns
    head = name.rpartition(".")[0]
    q_old = previous[f"{head}.q"][..., :p, :]
    fill = q_old @ done[f"{head}.k"][..., p:, :].transpose(-2, -1)
    top = torch.cat([previous[name][..., :p, :p], fill], dim=-1)
    return torch.cat([top, new], dim=2)


def _same(a: torch.Tensor | None, b: torch.Tensor) -> bool:
    return a is not None and a.shape == b.shape and bool(torch.equal(a, b.to(a.device)))


def _continuable(model: TransformerModel, previous: Trace | None, lean: bool) -> bool:
    return (previous is not None and previous.complete and previous.lean == lean
            and previous.weights is not None and previous.cfg == model.cfg
            and splice_supported(model.cfg) and previous.weights == weights_key(model))


def record_edit(
    model: TransformerModel,
    *inputs: torch.Tensor,
    previous: Trace | None = None,
    lean: bool = False,
    joined: bool = True,
) -> tuple[torch.Tensor | None, Trace]:
    """``record(model, *inputs, lean=lean)``, reusing ``previous`` where it can.

    ``inputs`` are x (decoder) or z, x (encoder-decoder), as for ``record``. The
    returned trace's ``first_new`` is the first position of x that was computed (0:
    everything was). The logits are the spliced ones, on the model's device; with
    ``joined=False`` a continued trace returns None for them instead, and its
    ``trace["logits"]`` joins them when first read (a copy of ℓ × N_V values that a
    keystroke need not wait for when no view shows every position's logits).
    """
    if not _continuable(model, previous, lean):
        return record(model, *inputs, lean=lean)
    ed = model.cfg.arch == "encoder-decoder"
    stack = "decoder." if ed else ""
    x = inputs[-1] if inputs else None
    if (len(inputs) != (2 if ed else 1)
            or not all(isinstance(t, torch.Tensor) and t.dim() == 2 for t in inputs)):
        return record(model, *inputs, lean=lean)  # record() says what is wrong
    if ed and not _same(previous["encoder.embed.ids"], inputs[0]):
        return record(model, *inputs, lean=lean)
    old_x = previous[f"{stack}embed.ids"]
    p = common_prefix(old_x, x.cpu())
    length = x.shape[1]
    if p == 0:
        return record(model, *inputs, lean=lean)
    names = list(previous.keys())
    kinds = {name: _kind(name, stack) for name in names}
    if p == length:  # nothing new: the previous trace, cut to the new length
        tensors = {n: _truncated(n, previous._tensors[n], kinds[n], p) for n in names}
        room = previous.room
    else:
        claim = _Claim()  # alive until the trace holds the room
        done = _continue(model, previous, inputs, p, lean, stack, kinds, claim)
        if done is None:
            return record(model, *inputs, lean=lean)
        tensors, room = done
    trace = Trace(tensors, model.cfg, previous.steps)
    if room is not None:  # its K and V are views of the room's first `length` positions
        with _ROOMS_LOCK:
            room.hold(trace, length)
        trace.room = room
    trace.weights, trace.complete, trace.lean = previous.weights, True, lean
    trace.first_new = p
    return (trace["logits"].to(x.device) if joined else None), trace


class Room:
    """Key/value buffers, one (B, H, capacity, d) pair per self-attention layer, shared
    by a line of continued traces; each trace of the line holds views of its first n
    positions (``hold``). Positions from ``start`` on may be written only when no living
    trace holds them (``free_from``)."""

    def __init__(self, keys: tuple[torch.Tensor, ...], values: tuple[torch.Tensor, ...]):
        self.keys, self.values = keys, values
        self.capacity = keys[0].shape[2]
        self.storages = frozenset(t.untyped_storage().data_ptr() for t in keys + values)
        self._holders: list[tuple[weakref.ref, int]] = []

    def hold(self, holder: object, n: int) -> None:
        self._holders.append((weakref.ref(holder), n))

    def free_from(self, start: int) -> bool:
        self._holders = [(ref, n) for ref, n in self._holders if ref() is not None]
        return all(n <= start for _, n in self._holders)

    def prefix(self, start: int) -> Prefix:
        """The first ``start`` positions, with the buffers to write the next ones into."""
        return Prefix(start, tuple(k[:, :, :start] for k in self.keys),
                      tuple(v[:, :, :start] for v in self.values),
                      tuple(zip(self.keys, self.values)))


class _Claim:
    """Holds a room's positions for a continuation until its trace exists."""


_ROOMS_LOCK = threading.Lock()  # deciding where to write and claiming it, atomically


def _capacity(length: int, l_max: int) -> int:
    return min(l_max, max(64, 2 ** math.ceil(math.log2(length * 1.5))))


def _new_room(previous: Trace, stack: str, n_layers: int, p: int, length: int,
              l_max: int) -> Room:
    """A room for ``length`` positions and more, holding a copy of the first p."""
    def buffers(kind: str) -> tuple[torch.Tensor, ...]:
        out = []
        for i in range(n_layers):
            old = previous.positions(f"{stack}blocks.{i}.attn.{kind}", 0, p)
            B, H, _, d = old.shape
            buf = torch.empty(B, H, _capacity(length, l_max), d, dtype=old.dtype)
            buf[:, :, :p] = old
            out.append(buf)
        return tuple(out)

    return Room(buffers("k"), buffers("v"))


def _room_for(previous: Trace, stack: str, n_layers: int, p: int, length: int,
              l_max: int, claim: _Claim) -> Room:
    """The previous trace's room when it may be written from p on, else a new one;
    positions up to ``length`` claimed for the continuation."""
    with _ROOMS_LOCK:
        room = previous.room
        if room is None or room.capacity < length or not room.free_from(p):
            room = _new_room(previous, stack, n_layers, p, length, l_max)
        room.hold(claim, length)
    return room


def _continue(model: TransformerModel, previous: Trace, inputs: tuple, p: int, lean: bool,
              stack: str, kinds: dict[str, str],
              claim: _Claim) -> tuple[dict, Room | None] | None:
    """Run the positions from p on and splice them in; None if the steps do not match.
    Also returns the room the new K and V are views of (None: they are joined copies),
    where ``claim`` holds the new positions until the trace does."""
    cfg = model.cfg
    device = next(model.parameters()).device
    n_layers = cfg.n_dec_layers if stack else cfg.n_layers
    length = inputs[-1].shape[1]
    room = None
    if device.type == "cpu":
        room = _room_for(previous, stack, n_layers, p, length, cfg.l_max, claim)
        prefix = room.prefix(p)
    else:
        keys = tuple(previous.positions(f"{stack}blocks.{i}.attn.k", 0, p).to(device)
                     for i in range(n_layers))
        values = tuple(previous.positions(f"{stack}blocks.{i}.attn.v", 0, p).to(device)
                       for i in range(n_layers))
        prefix = Prefix(p, keys, values)
    x_new = inputs[-1][:, p:]
    store: dict[str, torch.Tensor | None] = {}
    rooms = room.storages if room is not None else frozenset()
    with torch.no_grad(), hooks_attached(model, store, None, lean, inputs, rooms):
        if stack:
            names = [n for n in previous.keys() if n.startswith("encoder.")]
            Z = previous[names[-1]].to(device)  # the encoder's output, unchanged
            model.decode(Z, x_new, prefix=prefix)
        else:
            model(x_new, prefix=prefix)
    tensors: dict[str, torch.Tensor | None] = {}
    for name, kind in kinds.items():
        if kind == "fixed" and name not in store:
            tensors[name] = previous._tensors[name]
            continue
        if name not in store:
            return None
        tensors[name] = _extended(name, previous, store[name], kind, p, tensors)
    return tensors, room
