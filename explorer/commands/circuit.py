"""``transformer-explorer analyze circuit``: circuit discovery by edge attribution
(``explorer.analysis.circuit``): EAP or EAP-IG scores of every edge of the graph of heads,
the top ``--edges`` of them, and the faithfulness curve of the circuits of the best n
edges (n from 0 to all: 0 = every edge cut, 1 = none).

The clean/corrupted pair, the tokens and the metric are given as for ``analyze attribute``
(``commands.attribute``). JSON: ``"edges": [{"from", "to", "score"}]`` best first, nodes
named with layers and heads counted from 1 (``L1H2.q`` head 2 of layer 1's query input,
``MLP1``, ``embed``, ``logits``; ``enc``/``dec`` and ``X`` for cross-attention heads in
Algorithm 8), and ``"faithfulness": [{"edges": n, "recovered": f}]``.
"""

from __future__ import annotations

import argparse
from typing import Any

from explorer.commands.attribute import add_pair_arguments, header, read_pair


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_pair_arguments(p)
    p.add_argument("--method", choices=("eap", "eap-ig"), default="eap",
                   help="edge attribution patching (default), or with integrated gradients")
    p.add_argument("--steps", type=int, default=5, help="EAP-IG: interpolation steps "
                   "(default 5)")
    chosen = p.add_mutually_exclusive_group()
    chosen.add_argument("--edges", type=int, default=20, help="the circuit: the N edges with "
                        "the largest |score| (default 20)")
    chosen.add_argument("--threshold", type=float, help="the circuit: every edge with "
                        "|score| at least this")
    p.add_argument("--ablation", choices=("corrupted", "mean"), default="corrupted",
                   help="what a cut edge carries in the faithfulness runs: the corrupted "
                   "run's value (default) or the clean run's mean over positions")
    p.add_argument("--sizes", type=int, default=10, help="about this many circuit sizes on "
                   "the faithfulness curve (default 10; 0 and all are always there)")


def circuit(inp: Any, args: argparse.Namespace) -> tuple[dict[str, Any], list[str]]:
    from explorer.analysis import AnalysisError
    from explorer.analysis.circuit import Circuits, curve_sizes

    if args.steps < 1:
        raise AnalysisError(f"--steps must be at least 1, not {args.steps}")
    if args.edges is not None and args.threshold is None and args.edges < 0:
        raise AnalysisError(f"--edges must be 0 or more, not {args.edges}")
    pair = read_pair(inp, args)
    circuits = Circuits(inp.model, **pair)
    graph = circuits.graph(args.method, args.steps)
    ranked = graph.ranked()
    chosen = graph.above(args.threshold) if args.threshold is not None else graph.top(
        args.edges)
    sizes = sorted({*curve_sizes(len(ranked), max(2, args.sizes)), len(chosen.edges)})
    curve = circuits.faithfulness(ranked, sizes, ablation=args.ablation)
    metric = circuits.metric
    out: dict[str, Any] = {
        "analysis": "circuit", **header(inp, pair, metric), "method": args.method,
        "steps": args.steps if args.method == "eap-ig" else None, "ablation": args.ablation,
        "total_edges": len(ranked), "nodes": [n.label for n in graph.nodes],
        "edges": [{**e.to_json(), "score": round(e.score, 6)} for e in chosen.edges],
        "faithfulness": [{"edges": n, "recovered": round(f, 6)} for n, f in curve]}
    lines = [f"{args.method.upper()} of the {metric.name} at position {metric.position} "
             f"(clean {metric.clean:+.4f}, corrupted {metric.corrupted:+.4f}): the "
             f"{len(chosen.edges)} strongest of {len(ranked)} edges"]
    width = max([len(e.source.label) for e in chosen.edges] + [4])
    lines += [f"  {e.source.label:>{width}} → {e.target.label:<12} {e.score:+.4f}"
              for e in chosen.edges]
    lines += ["", f"faithfulness ({args.ablation} edges outside the circuit; 0 = every edge "
              "cut, 1 = none):"]
    lines += [f"  {n:>7} edges  {f:7.3f}" for n, f in curve]
    return out, lines
