"""The logit lens: what the output head would say at every residual point.

The residual points of a stack (the decoder's, for an encoder-decoder) are the stream
after the embedding and after each residual addition of every layer (attention,
cross-attention, MLP). For post-norm layers (Algorithms 8 and 9) the point is the sum
X + sublayer(X) before that layer's norm; the stream the next sublayer reads is that sum
normalised.

The readout applied to each point is what the model applies to its last one: its final
norm (pre-norm: the stack's final norm; post-norm: the last layer's last norm), computed
with *that point's own* mean and variance at each position, then (encoder with an MLM
head) Algorithm 9's W_f, GELU and layer norm, then the unembedding W_u. The last point's
distribution is the model's own output: its row is the recorded logits, bit for bit.

All points are read out together: one norm and one (points·positions × d_e) @ (d_e × N_V)
matmul, processed in chunks of rows so that a large vocabulary never needs the whole
(points, positions, N_V) tensor at once; only top-k, entropy and the target's
probability and rank are kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from explorer.analysis.common import (
    AnalysisError,
    Ids,
    Inputs,
    check_position,
    model_device,
    prepare,
    stack_prefix,
    trace_for,
)
from explorer.analysis.locate import stack_module
from explorer.core.models import TransformerModel
from explorer.trace import Trace

_CHUNK_ELEMENTS = 1 << 25  # logits computed per matmul (128 MB of float32)
_CACHE_ELEMENTS = 1 << 19  # logits summarised at once (2 MB of float32, kept in cache)


@dataclass(frozen=True)
class ResidualPoint:
    """One point of the residual stream: its trace step, a label and where it sits."""

    name: str  # the trace step holding it, e.g. "blocks.0.resid_attn"
    label: str  # "embedding", "layer 1 attention", "layer 1 cross-attention", "layer 1 MLP"
    layer: int | None  # 0-based layer, None for the embedding
    block: str  # "embed", "attn", "cross_attn" or "mlp"


def residual_points(model: TransformerModel) -> list[ResidualPoint]:
    """The residual points of the stack that feeds the output, in depth order."""
    cfg = model.cfg
    prefix = stack_prefix(cfg)
    embed = "embed.norm" if cfg.embed_norm else "embed.sum"
    points = [ResidualPoint(f"{prefix}{embed}", "embedding", None, "embed")]
    for i, block in enumerate(stack_module(model, None).blocks):
        points.append(ResidualPoint(f"{prefix}blocks.{i}.resid_attn", f"layer {i + 1} attention",
                                    i, "attn"))
        if block.cross_attn is not None:
            points.append(ResidualPoint(f"{prefix}blocks.{i}.resid_cross",
                                        f"layer {i + 1} cross-attention", i, "cross_attn"))
        points.append(ResidualPoint(f"{prefix}blocks.{i}.resid_mlp", f"layer {i + 1} MLP",
                                    i, "mlp"))
    return points


def final_norm(model: TransformerModel) -> nn.Module | None:
    """The last norm before the output: the final norm (pre-norm) or the last layer's
    last norm (post-norm); None for a post-norm stack without layers."""
    stack = stack_module(model, None)
    if model.cfg.norm_placement == "pre":
        return stack.final_norm
    return stack.blocks[-1].mlp_norm if len(stack.blocks) else None


def readout(model: TransformerModel, h: torch.Tensor) -> torch.Tensor:
    """Logits for residual vectors h (..., d_e): the final norm with each vector's own
    statistics, the encoder's MLM head where there is one, then W_u."""
    norm = final_norm(model)
    if norm is not None:
        h = norm(h)
    head = getattr(model, "head", None)
    if head is not None:
        h = head(h)
    return model.unembed(h)


def default_targets(model: TransformerModel, x: torch.Tensor) -> torch.Tensor:
    """(l,) the token each position is scored on: the next token for a decoder (and the
    decoder of an encoder-decoder; -1 at the last position, where nothing follows),
    the token itself for an encoder (what its masked-token head reconstructs)."""
    x = x.reshape(-1).cpu()
    if model.cfg.arch == "encoder":
        return x.clone()
    return torch.cat([x[1:], torch.full((1,), -1, dtype=x.dtype)])


@dataclass(frozen=True)
class LensResult:
    """The lens at every point (rows) and position (columns).

    ``top_ids``/``top_probs`` (P, l, k), ``entropy`` (P, l) in nats; ``targets`` (l,) the
    token scored at each position (-1: none), with its probability ``target_probs``
    (P, l; NaN where no target) and 0-based ``target_ranks`` (P, l; 0 = the top token,
    -1 where no target). The last row is the model's output distribution.
    """

    points: tuple[ResidualPoint, ...]
    ids: torch.Tensor  # (l,) the input x
    top_ids: torch.Tensor
    top_probs: torch.Tensor
    entropy: torch.Tensor
    targets: torch.Tensor
    target_probs: torch.Tensor
    target_ranks: torch.Tensor
    computed: torch.Tensor | None = None  # (l,) bool: the positions computed; None: all

    @property
    def complete(self) -> bool:
        """Whether every position is computed (``logit_lens(..., positions=...)`` leaves
        the others at top id -1 and NaN probabilities)."""
        return self.computed is None or bool(self.computed.all())

    @property
    def labels(self) -> list[str]:
        return [p.label for p in self.points]

    def column(self, position: int) -> dict[str, torch.Tensor]:
        """The target's probability and rank over depth at one position (the click plot)."""
        check_position(position, self.ids.numel())
        return {"probs": self.target_probs[:, position], "ranks": self.target_ranks[:, position]}


def _targets_tensor(model: TransformerModel, inputs: Inputs,
                    targets: int | Sequence[int] | torch.Tensor | None) -> torch.Tensor:
    length = inputs.length
    if targets is None:
        return default_targets(model, inputs.x)
    if isinstance(targets, int) and not isinstance(targets, bool):
        t = torch.full((length,), targets, dtype=torch.long)
    else:
        t = torch.as_tensor(targets, dtype=torch.long).reshape(-1).cpu()
        if t.numel() != length:
            raise AnalysisError(f"{t.numel()} targets given for {length} positions")
    bad = t[(t < -1) | (t >= model.cfg.vocab_size)]
    if bad.numel():
        raise AnalysisError(f"the target token id {int(bad[0])} is not in the model's "
                            f"vocabulary [0, {model.cfg.vocab_size})")
    return t


def point_stack(trace: Trace, points: Sequence[ResidualPoint]) -> torch.Tensor:
    """(P, l, d_e) the residual stream at each point (batch element 0)."""
    return torch.stack([trace[p.name][0] for p in points])


def lens_logits(model: TransformerModel, ids: Ids, *, context: Ids | None = None,
                trace: Trace | None = None, points: Sequence[str] | None = None
                ) -> tuple[list[ResidualPoint], torch.Tensor]:
    """The full lens logits (P, l, N_V) at the chosen points (all by default).

    Holds P·l·N_V numbers: for hovering one cell or comparing small models; the grid
    uses ``logit_lens``, which keeps only summaries.
    """
    inputs = prepare(model, ids, context)
    chosen = _choose_points(model, points)
    trace = trace_for(model, inputs, trace, [p.name for p in chosen])
    h = point_stack(trace, chosen).to(model_device(model))
    with torch.no_grad():
        return chosen, readout(model, h).float().cpu()


def _choose_points(model: TransformerModel, names: Sequence[str] | None) -> list[ResidualPoint]:
    every = residual_points(model)
    if names is None:
        return every
    by_name = {p.name: p for p in every} | {p.label: p for p in every}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise AnalysisError(f"{unknown[0]!r} is not a residual point of this model; "
                            f"the points are {', '.join(p.label for p in every)}")
    return [by_name[n] for n in names]


def _output_summaries(logits: torch.Tensor, targets: torch.Tensor, k: int):
    """Top-k, entropy, target probability and rank of the model's own output rows (r, N_V):
    probabilities are ``torch.softmax`` of the logits, bit for bit the model's output step."""
    logits = logits.float()
    p = torch.softmax(logits, dim=-1)
    logp = torch.log_softmax(logits, dim=-1)
    entropy = -(p.unsqueeze(1) @ logp.unsqueeze(2)).reshape(-1)  # -Σ_v p_v log p_v
    top_ids = logits.topk(k, dim=-1).indices
    top_probs = p.gather(1, top_ids)
    has = targets >= 0
    safe = targets.clamp(min=0)[:, None]
    t_prob = torch.where(has, p.gather(1, safe).reshape(-1),
                         torch.full_like(entropy, float("nan")))
    z_t = logits.gather(1, safe)  # (r, 1)
    t_rank = torch.where(has, (logits > z_t).sum(-1), torch.full_like(targets, -1))
    return top_ids, top_probs, entropy.clamp(min=0), t_prob, t_rank


def _lens_summaries(z: torch.Tensor, targets: torch.Tensor, k: int):
    """The same summaries for lens rows z (r, N_V) (float32, or bfloat16 from a bfloat16
    readout) in six passes over z: top-k, rank, z − max (to float32), exp, Σ e and
    Σ e·(z − max); a float32 z is overwritten.

    With m the row maximum and e = exp(z − m): log Σ exp z = m + log Σ e, and the entropy
    H = log Σ exp z − Σ p z = log Σ e − Σ e (z − m) / Σ e."""
    top_vals, top_ids = z.topk(k, dim=-1)
    has = targets >= 0
    z_t = z.gather(1, targets.clamp(min=0)[:, None])  # (r, 1)
    rank = (z > z_t).sum(-1)
    top_vals, z_t = top_vals.float(), z_t.float()
    m = top_vals[:, :1]
    shifted = z.sub_(m) if z.dtype == torch.float32 else torch.sub(z, m)  # float32
    e = torch.exp(shifted)
    total = e.sum(-1, keepdim=True)  # (r, 1)
    weighted = torch.linalg.vecdot(e, shifted)[:, None]  # Σ e (z − m)
    log_total = torch.log(total)
    entropy = (log_total - weighted / total).reshape(-1)
    top_probs = torch.exp(top_vals - m - log_total)
    t_prob = torch.exp(z_t - m - log_total).reshape(-1)
    t_prob = torch.where(has, t_prob, torch.full_like(t_prob, float("nan")))
    rank = torch.where(has, rank, torch.full_like(rank, -1))
    return top_ids, top_probs, entropy.clamp(min=0), t_prob, rank


READOUTS = ("float32", "bfloat16")
_LOW_PRECISION: dict[str, tuple[int, int, int, torch.Tensor]] = {}  # the last W_u converted


def _low_precision_weight(W: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """W in ``dtype``, converted once per model and weight version (not on every key)."""
    key = (id(W), W.data_ptr(), W._version)
    held = _LOW_PRECISION.get(str(dtype))
    if held is None or held[:3] != key:
        held = (*key, W.detach().to(dtype))
        _LOW_PRECISION[str(dtype)] = held
    return held[3]


def _unembed_rows(model: TransformerModel, h: torch.Tensor, dtype: torch.dtype,
                  W: torch.Tensor | None) -> torch.Tensor:
    """Logits (r, N_V) of residual rows h (r, d_e): the readout, float32; with W (N_V, d)
    given, the last matmul in W's dtype and the logits left in it."""
    if W is None:
        return readout(model, h).float()
    norm = final_norm(model)
    if norm is not None:
        h = norm(h)
    head = getattr(model, "head", None)
    if head is not None:
        h = head(h)
    bias = model.unembed.W_u.bias
    z = torch.nn.functional.linear(h.to(dtype), W)
    return z if bias is None else z + bias.to(dtype)


def logit_lens(model: TransformerModel, ids: Ids, *, context: Ids | None = None,
               trace: Trace | None = None,
               targets: int | Sequence[int] | torch.Tensor | None = None,
               top_k: int = 5, points: Sequence[str] | None = None,
               readout_dtype: str = "float32",
               positions: Sequence[int] | None = None) -> LensResult:
    """The logit lens at every residual point (or the ``points`` named) and position.

    ``targets``: one token id for every position, one per position (-1: none) or None for
    ``default_targets``. ``points``: trace step names or labels, default all.
    ``readout_dtype="bfloat16"`` does the unembedding matmul of every point but the last
    in bfloat16 (about 6× faster on a CPU with AMX, and on GPUs; probabilities then agree
    with float32 to about 1e-2 and near-ties in top-k and ranks may swap); the last
    point is always the model's own float32 output. ``positions``: compute only these
    columns (e.g. those in view first); the others hold top id -1, NaN probabilities and
    entropy and rank -1, and ``computed`` says which are real. A computed column equals
    the same column of the whole lens.
    """
    if readout_dtype not in READOUTS:
        raise AnalysisError(f"readout_dtype must be one of {', '.join(READOUTS)}, not "
                            f"{readout_dtype!r}")
    inputs = prepare(model, ids, context)
    cfg = model.cfg
    chosen = _choose_points(model, points)
    k = max(1, min(int(top_k), cfg.vocab_size))
    tgt = _targets_tensor(model, inputs, targets)
    last = residual_points(model)[-1]
    use_output = bool(chosen) and chosen[-1] == last
    needed = [p.name for p in chosen] + (["logits"] if use_output else [])
    trace = trace_for(model, inputs, trace, needed)
    device = model_device(model)
    full_length, n_points = inputs.length, len(chosen)
    cols = (torch.arange(full_length) if positions is None
            else torch.as_tensor(sorted({int(t) for t in positions}), dtype=torch.long))
    if cols.numel() and not 0 <= int(cols[0]) <= int(cols[-1]) < full_length:
        raise AnalysisError(f"positions must lie in [0, {full_length})")
    length = int(cols.numel())
    computed = chosen[:-1] if use_output else chosen
    flat_targets = tgt[cols].repeat(n_points).to(device)  # (P·l,)
    outs: list[tuple[torch.Tensor, ...]] = []
    with torch.no_grad():
        if computed:
            dtype = torch.bfloat16 if readout_dtype == "bfloat16" else torch.float32
            W = (_low_precision_weight(model.unembed.W_u.weight, dtype)
                 if dtype != torch.float32 else None)
            h = point_stack(trace, computed)
            if positions is not None:
                h = h[:, cols]
            h = h.to(device).reshape(-1, cfg.d_e)  # (P'·l, d_e)
            rows = max(1, _CHUNK_ELEMENTS // cfg.vocab_size)
            for start in range(0, h.shape[0], rows):
                chunk = h[start:start + rows]
                logits = _unembed_rows(model, chunk, dtype, W)
                targets_here = flat_targets[start:start + len(chunk)]
                step = max(1, _CACHE_ELEMENTS // cfg.vocab_size)
                for lo in range(0, len(chunk), step):  # summaries of rows that fit in cache
                    outs.append(_lens_summaries(logits[lo:lo + step],
                                                targets_here[lo:lo + step], k))
        if use_output:  # the model's own output, as recorded
            logits = trace["logits"][0]
            logits = (logits if positions is None else logits[cols]).to(device)
            outs.append(_output_summaries(logits, flat_targets[-length:], k))
    parts = [torch.cat([o[i] for o in outs]).cpu() for i in range(5)]
    top_ids, top_probs, entropy, t_prob, t_rank = parts
    shaped = [top_ids.reshape(n_points, length, k), top_probs.reshape(n_points, length, k),
              entropy.reshape(n_points, length), t_prob.reshape(n_points, length),
              t_rank.reshape(n_points, length)]
    done = None
    if positions is not None:  # the columns not computed: -1 and NaN
        fills = (-1, float("nan"), float("nan"), float("nan"), -1)
        for i, (part, fill) in enumerate(zip(shaped, fills)):
            whole = torch.full((n_points, full_length, *part.shape[2:]), fill, dtype=part.dtype)
            whole[:, cols] = part
            shaped[i] = whole
        done = torch.zeros(full_length, dtype=torch.bool)
        done[cols] = True
    return LensResult(points=tuple(chosen), ids=inputs.x[0].cpu(), top_ids=shaped[0],
                      top_probs=shaped[1], entropy=shaped[2], targets=tgt,
                      target_probs=shaped[3], target_ranks=shaped[4], computed=done)


def lens_distribution(model: TransformerModel, ids: Ids, point: str, position: int, *,
                      context: Ids | None = None, trace: Trace | None = None) -> torch.Tensor:
    """The lens's full distribution (N_V,) at one point (step name or label) and position."""
    inputs = prepare(model, ids, context)
    check_position(position, inputs.length)
    (chosen,) = _choose_points(model, [point])
    trace = trace_for(model, inputs, trace, [chosen.name])
    h = trace[chosen.name][0, position].to(model_device(model))
    with torch.no_grad():
        return torch.softmax(readout(model, h).float(), dim=-1).cpu()
