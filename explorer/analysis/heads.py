"""Progress measures of attention heads (Olsson et al. 2022; Elhage et al. 2021). Qt-free.

From what the heads do on fresh sequences (``repeated_sequences``: random tokens that
repeat with periods no training fixed):

- previous-token score: mean attention from position t to t − 1;
- prefix-matching (induction) score: mean attention from each token of a repeat to the
  tokens right after its earlier occurrences;
- duplicate-token score: mean attention from each token of a repeat to its earlier
  occurrences;
- the in-context-learning score: the mean loss at late positions minus the mean loss at
  early positions (negative: the model predicts better with more context).

From the weights alone (``composition``, ``copying_scores``), each norm's γ folded into
the weights it feeds (its centring and division left out), biases and rotary positions
left out:

- W_QK^h = W_q^hᵀ W_k^h and W_OV^h = W_o^h W_v^h (d_e × d_e; a score is x_qᵀ W_QK x_k,
  a head writes W_OV x);
- Q-, K- and V-composition of head h1 into a head h2 of a later layer (Elhage et al.):
  ‖M W_OV^h1‖_F / (‖M‖_F ‖W_OV^h1‖_F) with M = W_QK^h2ᵀ (Q), W_QK^h2 (K), W_OV^h2 (V),
  beside the same score of random Gaussian matrices of the same shapes (the baseline);
- the OV copying score: Σ λ / Σ |λ| over the eigenvalues λ of W_u W_OV^h W_e (1: the
  head copies the token it attends to; computed as the d_e × d_e product W_OV W_e W_u,
  which has the same non-zero eigenvalues).

Layers and heads count from 0 here; ``HeadScores.to_json`` counts them from 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from explorer.analysis.common import AnalysisError
from explorer.analysis.graph import Edge, Graph, Node, stack_nodes
from explorer.core.models import TransformerModel
from explorer.trace import record

PERIODS = (11, 13, 17, 19)  # of the fresh sequences; the training data fixes none
KINDS = ("q", "k", "v")
BASELINE_SAMPLES = 20


def usable_ids(vocab_size: int, tokenizer: Any = None) -> list[int]:
    """The ids a fresh sequence draws from: every id, or with a tokenizer those that are
    neither special tokens nor white space (a char model's newline)."""
    if tokenizer is None:
        return list(range(vocab_size))
    special = {int(i) for i in (getattr(tokenizer, "special_ids", {}) or {}).values()
               if i is not None}
    ids = [i for i in range(vocab_size)
           if i not in special and tokenizer.decode([i]).strip()]
    return ids or list(range(vocab_size))


def periods_for(length: int) -> tuple[int, ...]:
    """The ``PERIODS`` that repeat at least twice in ``length`` tokens, or for a shorter
    context a third and a quarter of it."""
    fit = tuple(p for p in PERIODS if 2 * p <= length)
    return fit or tuple(sorted({max(2, length // 4), max(2, length // 3)}))


def repeated_sequences(ids: list[int], length: int, periods: tuple[int, ...] | None = None,
                       per_period: int = 8, seed: int = 0) -> torch.Tensor:
    """(len(periods) · per_period, length) int64: for each period P (default
    ``periods_for(length)``), random tokens (from ``ids``) x[0:P] repeated to fill
    ``length``: x[t] = x[t − P]."""
    periods = periods_for(length) if periods is None else periods
    if length < 2 * min(periods):
        raise AnalysisError(f"sequences of {length} tokens are too short to repeat a "
                            f"segment of {min(periods)}")
    g = torch.Generator().manual_seed(seed)
    pool = torch.tensor(ids, dtype=torch.long)
    rows = []
    for period in periods:
        first = pool[torch.randint(0, len(ids), (per_period, period), generator=g)]
        reps = -(-length // period)
        rows.append(first.repeat(1, reps)[:, :length])
    return torch.cat(rows)


def patterns_and_logits(model: TransformerModel, x: torch.Tensor,
                        interventions: tuple = ()) -> tuple[torch.Tensor, torch.Tensor]:
    """The attention weights of every head on the batch x, (L, B, H, l, l) query then key
    (the paper's A[t_z, t_x] is ``[..., t_x, t_z]``), and the logits (B, l, N_V) of the
    same pass (with ``interventions`` applied)."""
    from explorer.analysis.intervening import record_intervened

    n_layers = model.cfg.n_layers
    names = [f"blocks.{i}.attn.pattern" for i in range(n_layers)]
    if interventions:
        logits, trace = record_intervened(model, x, interventions=list(interventions))
    else:
        logits, trace = record(model, x, names=names)
    return torch.stack([trace[n].float() for n in names]), logits.float()


def match_masks(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, l, l) bool masks over (query t, key s), s < t: ``duplicate`` where x[s] = x[t],
    ``prefix`` where x[s − 1] = x[t] (the token after an earlier occurrence)."""
    same = x[:, :, None] == x[:, None, :]  # (B, t, s)
    earlier = torch.ones_like(same[0]).tril(-1)  # s < t
    duplicate = same & earlier
    prefix = torch.zeros_like(same)
    prefix[:, :, 1:] = same[:, :, :-1]  # x[t] == x[s - 1]
    prefix &= torch.ones_like(same[0]).tril(0)  # s <= t
    return duplicate, prefix


def attention_scores(a: torch.Tensor, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per head (L, H): the previous-token, prefix-matching and duplicate-token scores of
    the patterns ``a`` (L, B, H, l, l) on the tokens x (B, l). The last two average over
    the queries that have an earlier occurrence."""
    previous = a.diagonal(offset=-1, dim1=-2, dim2=-1).mean(dim=(1, 3))  # (L, H)
    duplicate, prefix = match_masks(x)
    has = duplicate.any(dim=-1)  # (B, l) queries with an earlier occurrence
    n = has.sum().clamp(min=1)

    def share(mask: torch.Tensor) -> torch.Tensor:
        on = (a * mask[None, :, None].to(a)).sum(-1)  # (L, B, H, l)
        return (on * has[None, :, None].to(a)).sum(dim=(1, 3)) / n

    return {"previous_token": previous, "prefix_matching": share(prefix),
            "duplicate_token": share(duplicate)}


def icl_score(logits: torch.Tensor, x: torch.Tensor) -> float:
    """Mean next-token loss over the last quarter of positions minus the mean over the
    first eighth (Olsson et al.'s in-context-learning score, on these sequences)."""
    losses = torch.nn.functional.cross_entropy(
        logits[:, :-1].transpose(1, 2), x[:, 1:], reduction="none")  # (B, l - 1)
    n = losses.shape[1]
    early, late = max(1, n // 8), max(1, n // 4)
    return float(losses[:, -late:].mean() - losses[:, :early].mean())


# -- the weights ----------------------------------------------------------------------
def _gamma(norm: torch.nn.Module | None, d_e: int) -> torch.Tensor:
    g = getattr(norm, "gamma", None)
    return g.detach().float() if g is not None else torch.ones(d_e)


def head_matrices(model: TransformerModel, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Layer ``layer``'s W_QK (H, d_e, d_e) and W_OV (H, d_e, d_e), with a pre-norm's γ
    folded into the inputs (x_qᵀ W_QK x_k; W_OV maps the residual stream into itself)."""
    block = model.stack.blocks[layer]
    attn = block.attn
    if attn.n_kv_heads != attn.n_heads:
        raise AnalysisError("composition scores need one key/value head per query head")
    H, d_a, d_m = attn.n_heads, attn.d_attn, attn.d_mid
    gamma = _gamma(block.attn_norm if block.pre else None, model.cfg.d_e)
    w_q = attn.W_q.weight.detach().float().view(H, d_a, -1) * gamma
    w_k = attn.W_k.weight.detach().float().view(H, d_a, -1) * gamma
    w_v = attn.W_v.weight.detach().float().view(H, d_m, -1) * gamma
    w_o = attn.W_o.weight.detach().float().view(-1, H, d_m).transpose(0, 1)  # (H, d_e, d_m)
    return w_q.transpose(1, 2) @ w_k, w_o @ w_v


def composition_score(m: torch.Tensor, ov: torch.Tensor) -> torch.Tensor:
    """‖M W_OV‖_F / (‖M‖_F ‖W_OV‖_F), batched over leading dimensions."""
    num = torch.linalg.matrix_norm(m @ ov)
    return num / (torch.linalg.matrix_norm(m) * torch.linalg.matrix_norm(ov)).clamp(min=1e-12)


def composition_reader(kind: str, qk: torch.Tensor, ov: torch.Tensor) -> torch.Tensor:
    """The matrix of the receiving head (W_QK, W_QKᵀ or W_OV) that reads an earlier head's
    W_OV in ``kind``-composition ("q", "k" or "v")."""
    return {"q": qk.transpose(-2, -1), "k": qk, "v": ov}[kind]


def composition_baseline(d_e: int, d_attn: int, d_mid: int, samples: int = BASELINE_SAMPLES,
                         seed: int = 0) -> dict[str, float]:
    """The mean Q-, K- and V-composition score of random Gaussian W_q, W_k, W_v, W_o of
    these shapes: what "no composition" scores."""
    g = torch.Generator().manual_seed(seed)

    def randn(*shape: int) -> torch.Tensor:
        return torch.randn(samples, *shape, generator=g)

    qk = randn(d_e, d_attn) @ randn(d_attn, d_e)
    ov2 = randn(d_e, d_mid) @ randn(d_mid, d_e)
    ov1 = randn(d_e, d_mid) @ randn(d_mid, d_e)
    return {k: float(composition_score(composition_reader(k, qk, ov2), ov1).mean())
            for k in KINDS}


@dataclass
class Composition:
    """Composition scores of heads into the heads of later layers, as a graph of heads:
    ``Edge(Node("head", l1, h1), Node("head", l2, h2).at(kind), score)``."""

    graph: Graph
    baseline: dict[str, float]

    def score(self, source: Node, target: Node, kind: str) -> float:
        for e in self.graph.into(target.at(kind)):
            if e.source == source:
                return e.score
        raise KeyError(f"no {kind}-composition of {source.label} into {target.label}")

    def to_json(self) -> dict[str, Any]:
        return {"baseline": self.baseline, "edges": [
            {"from": e.source.to_json(), "to": e.target.output.to_json(),
             "kind": e.target.port, "score": e.score} for e in self.graph.edges]}


def composition(model: TransformerModel) -> Composition:
    """Q-, K- and V-composition of every head into every head of each later layer."""
    cfg = model.cfg
    mats = [head_matrices(model, layer) for layer in range(cfg.n_layers)]
    nodes = [Node("embed"), *stack_nodes(cfg.n_layers, cfg.n_heads, mlp=_has_mlp(model)),
             Node("logits")]
    edges = []
    for l2 in range(cfg.n_layers):
        qk2, ov2 = mats[l2]
        for l1 in range(l2):
            ov1 = mats[l1][1]
            for kind in KINDS:
                reader = composition_reader(kind, qk2, ov2)  # (H, d_e, d_e)
                scores = composition_score(reader[:, None], ov1[None])  # (H2, H1)
                edges += [Edge(Node("head", l1, h1), Node("head", l2, h2).at(kind),
                               float(scores[h2, h1]))
                          for h2 in range(cfg.n_heads) for h1 in range(cfg.n_heads)]
    baseline = composition_baseline(cfg.d_e, cfg.d_attn, cfg.d_mid)
    return Composition(Graph(nodes, edges), baseline)


def _has_mlp(model: TransformerModel) -> bool:
    return getattr(model.stack.blocks[0], "mlp", None) is not None if model.cfg.n_layers \
        else False


def copying_scores(model: TransformerModel) -> torch.Tensor:
    """(L, H): Σ λ / Σ |λ| of W_u W_OV^h W_e (the final norm's γ folded into W_u)."""
    w_e = model.stack.embed.token.W_e.weight.detach().float().T  # (d_e, N_V)
    w_u = model.unembed.W_u.weight.detach().float() * _gamma(model.stack.final_norm,
                                                              model.cfg.d_e)
    reads = w_e @ w_u  # (d_e, d_e): W_e W_u, cyclic with W_u W_OV W_e
    out = []
    for layer in range(model.cfg.n_layers):
        ov = head_matrices(model, layer)[1]
        lam = torch.linalg.eigvals(ov @ reads)  # (H, d_e)
        out.append(lam.real.sum(-1) / lam.abs().sum(-1).clamp(min=1e-12))
    return torch.stack(out)


# -- one model's report -----------------------------------------------------------------
@dataclass
class HeadScores:
    """Every measure of one model (one snapshot): per head (L, H) and the model's."""

    previous_token: torch.Tensor
    prefix_matching: torch.Tensor
    duplicate_token: torch.Tensor
    copying: torch.Tensor
    icl: float
    composition: Composition
    step: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def best(self, measure: str) -> tuple[int, int, float]:
        """(layer, head, score) of the head with the highest ``measure`` (from 0)."""
        t = getattr(self, measure)
        i = int(t.argmax())
        return i // t.shape[1], i % t.shape[1], float(t.flatten()[i])

    def to_json(self) -> dict[str, Any]:
        """Layers and heads from 1."""
        L, H = self.previous_token.shape
        heads = [{"layer": layer + 1, "head": h + 1, "label": Node("head", layer, h).label,
                  **{m: round(float(getattr(self, m)[layer, h]), 4) for m in HEAD_MEASURES}}
                 for layer in range(L) for h in range(H)]
        out: dict[str, Any] = {"heads": heads, "icl_score": round(self.icl, 4),
                               "composition": self.composition.to_json()}
        if self.step is not None:
            out = {"step": self.step, **out}
        return out


HEAD_MEASURES = ("previous_token", "prefix_matching", "duplicate_token", "copying")


def check_decoder(model: TransformerModel) -> None:
    if model.cfg.arch != "decoder":
        raise AnalysisError("the head scores need a decoder (Algorithm 10, next-token "
                            f"prediction), not an {model.cfg.arch}")
    if model.cfg.n_layers < 1:
        raise AnalysisError("this model has no layers")


def head_scores(model: TransformerModel, x: torch.Tensor, step: int | None = None,
                interventions: tuple = ()) -> HeadScores:
    """Every measure of ``model`` on the sequences x (``repeated_sequences``)."""
    check_decoder(model)
    model.eval()
    with torch.no_grad():
        a, logits = patterns_and_logits(model, x, interventions)
        scores = attention_scores(a, x)
        return HeadScores(scores["previous_token"], scores["prefix_matching"],
                          scores["duplicate_token"], copying_scores(model),
                          icl_score(logits, x), composition(model), step)
