"""Circuit discovery: edge attribution patching (EAP), EAP with integrated gradients
(EAP-IG; Hanna et al. 2024), the faithfulness of a circuit, and path patching (Wang et
al. 2022), on the graph of heads (``explorer.analysis.graph``, run by
``explorer.analysis.edges``).

An edge u → v (u an upstream node's output, v a receiver's input: a head's query, key or
value, an MLP, the logits) scores the linear estimate of restoring it, the corrupted run's
contribution of u to v's input replaced by the clean run's:
    (a_u,clean − a_u,corrupted) · ∂metric/∂(v's input),
the gradient on the corrupted run (EAP), or averaged over ``steps`` runs whose embeddings
lie evenly between the corrupted and the clean text's (EAP-IG, midpoints). In a pre-norm
model the scores into a receiver sum to its own attribution. The metric is
``explorer.analysis.metric``'s, normalised 0 = corrupted, 1 = clean.

Faithfulness: the clean text run with every edge outside the circuit cut (its
contribution the corrupted run's, or with ``ablation="mean"`` the clean run's mean over
positions), the metric recovered relative to the run with every edge cut (0) and the run
with none cut (1): exactly 1 with every edge and exactly 0 with none. The curve's runs are
one batch (``max_rows`` at a time).

Path patching: the clean run with a sender's output replaced by the corrupted run's only in
the inputs of chosen receivers; everything else reads the sender's clean output. With every
receiver it is the exact patch of the sender.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from explorer.analysis.attribution import attribution_inputs
from explorer.analysis.common import AnalysisError, Ids
from explorer.analysis.edges import EdgeGraph, EdgeRun
from explorer.analysis.graph import Edge, Graph, Node
from explorer.analysis.metric import Metric
from explorer.core.models import TransformerModel

METHODS = ("eap", "eap-ig")
ABLATIONS = ("corrupted", "mean")
Progress = Callable[[int, int], None]


def curve_sizes(total: int, count: int = 10) -> list[int]:
    """About ``count`` circuit sizes from 0 to ``total`` edges, spaced geometrically."""
    if total <= 0:
        return [0]
    inner = [round(total ** (i / max(1, count - 2))) for i in range(count - 1)]
    return sorted({0, *inner, total})


class Circuits:
    """One clean/corrupted pair on a model: its edge scores, circuits' faithfulness and
    path patches. AnalysisError as ``attribution_patching`` gives them."""

    def __init__(self, model: TransformerModel, clean: Ids, corrupted: Ids, target: int,
                 other: int | None = None, *, metric: str = "logit_diff",
                 position: int = -1, decoder: Ids | None = None) -> None:
        a, b = attribution_inputs(model, clean, corrupted, decoder)
        self.model = model
        self.edges = EdgeGraph(model)
        stacks = self.edges.stacks
        self.clean_ids = dict(zip(stacks, a.args()))
        self.corrupted_ids = dict(zip(stacks, b.args()))
        with torch.no_grad():
            self.metric = Metric(metric, model.cfg, model(*a.args()), model(*b.args()),
                                 target, other, position)
            self.clean_out = self._outputs(self.clean_ids)
            self.corrupted_out = self._outputs(self.corrupted_ids)
        self.upstream = {n: i for i, n in enumerate(self.edges.upstream)}
        self.valid = self.edges.edge_mask()

    def _outputs(self, ids: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        run = EdgeRun(ids)
        self.edges.forward(run)
        return [o[0] for o in run.out]

    @property
    def nodes(self) -> list[Node]:
        """Every node: outputs, head inputs and the logits (for a ``Graph``)."""
        return [*self.edges.upstream, *(r for r in self.edges.receivers
                                        if r.port or r.kind == "logits")]

    # -- scores -----------------------------------------------------------------------
    def scores(self, method: str = "eap", steps: int = 5) -> torch.Tensor:
        """(R, U) float64 edge scores (0 where no edge runs)."""
        if method not in METHODS:
            raise AnalysisError(f"the method {method!r} is not one of {', '.join(METHODS)}")
        if method == "eap-ig" and not (isinstance(steps, int) and steps >= 1):
            raise AnalysisError(f"EAP-IG needs at least 1 step, not {steps!r}")
        rows = steps if method == "eap-ig" else 1
        run = EdgeRun(self.corrupted_ids, rows=rows, grads=True)
        if method == "eap-ig":
            alpha = (torch.arange(rows, dtype=torch.float32) + 0.5) / rows
            for stack, (c, k) in self._embeds().items():
                a = alpha.to(c.device)[:, None, None]
                run.embeds[stack] = k + a * (c - k)
        with torch.enable_grad():
            logits = self.edges.forward(run)
            points = [p[3] for p in run.points]
            grads = torch.autograd.grad(self.metric.normalised(logits).sum(), points)
        delta = [c - k for c, k in zip(self.clean_out, self.corrupted_out)]
        out = torch.zeros(len(self.edges.receivers), len(self.edges.upstream),
                          dtype=torch.float64)
        for (r0, j0, j1, s), g in zip(run.points, grads):
            g = g.mean(0)  # (count, l, d), averaged over the IG steps
            for j in range(j0, j1 + 1):
                step = self.edges.steps[j]
                out[r0:r0 + s.shape[1], step.u0:step.u1] += torch.einsum(
                    "gld,nld->gn", g, delta[j]).double().cpu()
        return out * self.valid

    def _embeds(self) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        from explorer.analysis.locate import stack_module

        with torch.no_grad():
            return {s: (stack_module(self.model, s or None).embed(self.clean_ids[s]),
                        stack_module(self.model, s or None).embed(self.corrupted_ids[s]))
                    for s in self.edges.stacks}

    def graph(self, method: str = "eap", steps: int = 5) -> Graph:
        """Every edge with its score."""
        scores = self.scores(method, steps)
        r, u = self.valid.nonzero(as_tuple=True)
        edges = [Edge(self.edges.upstream[j], self.edges.receivers[i], float(scores[i, j]))
                 for i, j in zip(r.tolist(), u.tolist())]
        return Graph(self.nodes, edges)

    # -- runs with edges cut -----------------------------------------------------------
    def _masks(self, ranked: Sequence[Edge], sizes: Sequence[int]) -> list[torch.Tensor]:
        """(R, U) masks of the circuits of the first n edges of ``ranked``, n in ``sizes``."""
        pairs = torch.tensor([[self.edges.index[e.target], self.upstream[e.source]]
                              for e in ranked], dtype=torch.long).reshape(-1, 2)
        masks = []
        for n in sizes:
            mask = torch.zeros(len(self.edges.receivers), len(self.edges.upstream))
            mask[pairs[:n, 0], pairs[:n, 1]] = 1
            masks.append(mask)
        return masks

    def _other(self, ablation: str) -> list[torch.Tensor]:
        if ablation not in ABLATIONS:
            raise AnalysisError(f"the ablation {ablation!r} is not one of "
                                f"{', '.join(ABLATIONS)}")
        if ablation == "corrupted":
            return self.corrupted_out
        return [o.mean(-2, keepdim=True).expand_as(o) for o in self.clean_out]

    def metrics(self, masks: Sequence[torch.Tensor], *, ablation: str = "corrupted",
                max_rows: int = 16, progress: Progress | None = None) -> torch.Tensor:
        """The raw metric (float64) of one run of the clean text per mask (R, U) (1: the
        edge is in the circuit, 0: cut), batched ``max_rows`` at a time."""
        other = self._other(ablation)
        values = []
        with torch.no_grad():
            for lo in range(0, len(masks), max_rows):
                chunk = torch.stack(list(masks[lo:lo + max_rows]))
                device = other[0].device
                run = EdgeRun(self.clean_ids, rows=len(chunk), mask=chunk.to(device),
                              other=other)
                values.append(self.metric.raw(self.edges.forward(run)).cpu())
                if progress is not None:
                    progress(min(lo + max_rows, len(masks)), len(masks))
        return torch.cat(values)

    def faithfulness(self, ranked: Sequence[Edge], sizes: Sequence[int] | None = None, *,
                     ablation: str = "corrupted", max_rows: int = 16,
                     progress: Progress | None = None) -> list[tuple[int, float]]:
        """(n, recovered) for the circuits of the first n edges of ``ranked`` (every edge,
        best first; ``Graph.ranked``), n in ``sizes`` (default ``curve_sizes``; 0 and all
        are always there)."""
        total = len(ranked)
        sizes = sorted({0, total, *(min(max(0, int(n)), total)
                                    for n in (curve_sizes(total) if sizes is None else sizes))})
        masks = self._masks(ranked, sizes)
        m = self.metrics(masks, ablation=ablation, max_rows=max_rows, progress=progress)
        none, every = float(m[0]), float(m[-1])
        if abs(every - none) <= 1e-9 * (1 + abs(every)):
            raise AnalysisError("cutting every edge leaves the metric as it is: there is "
                                "nothing for a circuit to recover")
        return [(n, (float(v) - none) / (every - none) + 0.0) for n, v in zip(sizes, m)]

    def path_patching(self, sender: Node, receivers: Sequence[Node]) -> float:
        """The normalised metric of the clean run with ``sender``'s output taken from the
        corrupted run only where ``receivers`` (head inputs, MLPs, the logits) read it."""
        if sender not in self.upstream:
            raise AnalysisError(f"{sender.label} is not a node that writes to the stream")
        u = self.upstream[sender]
        mask = self.valid.float()
        for r in receivers:
            if r not in self.edges.index:
                raise AnalysisError(f"{r.label} is not a receiver (a head's q, k or v "
                                    "input, an MLP or the logits)")
            if not self.valid[self.edges.index[r], u]:
                raise AnalysisError(f"{r.label} does not read {sender.label}: it is not "
                                    "downstream of it")
            mask[self.edges.index[r], u] = 0
        raw = self.metrics([mask])
        m = self.metric
        return float((raw[0] - m.corrupted) / (m.clean - m.corrupted))

    def receivers_of(self, sender: Node) -> list[Node]:
        """Every receiver that reads ``sender``."""
        u = self.upstream[sender]
        return [r for i, r in enumerate(self.edges.receivers) if self.valid[i, u]]
