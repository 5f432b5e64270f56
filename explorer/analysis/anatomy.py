"""A head's anatomy (Elhage et al. 2021): its QK and OV circuits read through the token
embedding and unembedding, and its composition with the heads of earlier layers.

- QK circuit: ``qk[q, k] = W_e[q] W_QK^h W_e[k]ᵀ``, the attention score a query token q gives
  a key token k before positions and the softmax (rows queries, columns keys).
- OV circuit: ``ov[s, o] = (W_u W_OV^h W_e)[o, s]``, how much attending to a source token s
  raises the logit of output token o (rows sources, columns outputs).
A pre-norm's γ is folded in as in ``heads.head_matrices`` and the final norm's γ into W_u;
the norms' scaling and the position embeddings are left out, as in the paper that defined
them. For a vocabulary over ``SMALL_VOCAB`` the matrices are too large to read, and the
anatomy gives each circuit's top singular directions read against the vocabulary instead.
Composition: the Q-, K- and V-composition scores of every head of the previous layer into
this one (as ``heads.composition`` scores them), with the random-matrix baseline.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from explorer.analysis.common import AnalysisError
from explorer.analysis.graph import Node
from explorer.analysis.heads import (
    KINDS,
    check_decoder,
    composition_baseline,
    composition_reader,
    composition_score,
    head_matrices,
)
from explorer.core.models import TransformerModel

SMALL_VOCAB = 128  # up to this many tokens the circuits are shown whole
TOP_DIRECTIONS = 3
TOP_TOKENS = 6


@dataclass
class Direction:
    """One singular direction of a circuit: its singular value, the tokens whose
    embedding (or unembedding) reads most along each side, largest first."""

    value: float
    left: list[int]
    right: list[int]


@dataclass
class HeadAnatomy:
    layer: int  # from 0
    head: int
    qk: torch.Tensor | None  # (N_V, N_V) for a small vocabulary, else None
    ov: torch.Tensor | None
    qk_directions: list[Direction] = field(default_factory=list)  # query side, key side
    ov_directions: list[Direction] = field(default_factory=list)  # output side, source side
    composition: list[tuple[Node, str, float]] = field(default_factory=list)
    baseline: dict[str, float] = field(default_factory=dict)


def _top(scores: torch.Tensor, n: int) -> list[int]:
    return [int(i) for i in scores.topk(min(n, scores.numel())).indices]


def _directions(m: torch.Tensor, left: torch.Tensor, right: torch.Tensor) -> list[Direction]:
    """The top singular directions of ``m`` (d_e, d_e), each side read through ``left`` and
    ``right`` (N_V, d_e)."""
    u, s, vh = torch.linalg.svd(m)
    return [Direction(float(s[i]), _top(left @ u[:, i], TOP_TOKENS),
                      _top(right @ vh[i], TOP_TOKENS))
            for i in range(min(TOP_DIRECTIONS, int((s > 1e-6 * s[0]).sum())))]


def head_anatomy(model: TransformerModel, layer: int, head: int) -> HeadAnatomy:
    """The anatomy of head ``head`` of layer ``layer`` (both from 0) of a decoder;
    AnalysisError for another architecture, grouped-query attention or no such head."""
    cfg = model.cfg
    check_decoder(model)
    if not (0 <= layer < cfg.n_layers and 0 <= head < cfg.n_heads):
        raise AnalysisError(f"the model has no layer {layer + 1}, head {head + 1}")
    with torch.no_grad():
        qk_all, ov_all = head_matrices(model, layer)
        w_e = model.stack.embed.token.W_e.weight.detach().float()  # (N_V, d_e)
        norm = getattr(model.stack, "final_norm", None)
        gamma = getattr(norm, "gamma", None)
        w_u = model.unembed.W_u.weight.detach().float()
        if gamma is not None:
            w_u = w_u * gamma.detach().float()
        qk, ov = qk_all[head], ov_all[head]
        out = HeadAnatomy(layer, head, None, None)
        if cfg.vocab_size <= SMALL_VOCAB:
            out.qk = w_e @ qk @ w_e.T
            out.ov = (w_u @ ov @ w_e.T).T
        else:
            out.qk_directions = _directions(qk, w_e, w_e)
            out.ov_directions = _directions(ov, w_u, w_e)
    if layer > 0:  # this head against the previous layer's only (not every pair of heads)
        with torch.no_grad():
            ov_before = head_matrices(model, layer - 1)[1]  # (H, d_e, d_e)
            for kind in KINDS:
                reader = composition_reader(kind, qk, ov)
                scores = composition_score(reader[None], ov_before)  # (H,)
                out.composition += [(Node("head", layer - 1, h), kind, float(scores[h]))
                                    for h in range(cfg.n_heads)]
        out.baseline = composition_baseline(cfg.d_e, cfg.d_attn, cfg.d_mid)
    return out
