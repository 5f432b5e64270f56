"""``transformer-explorer analyze attribute``: attribution patching, the linear estimate of
every activation patch (``explorer.analysis.attribution``) from one forward pass on each
text and one backward pass.

The arguments are ``analyze patch``'s (``--text``/``--ids`` the clean text,
``--corrupted``/``--corrupted-ids``, ``--target``, ``--other``, ``--sites``), and the
``--json`` has the same ``"sweeps": {site: rows}`` layout, so that the two compare cell by
cell. More: ``--metric logit-diff|loss|kl`` at ``--position`` (default the last), the
query, key and value sites of each head ("q", "k", "v"), and encoder-decoders, whose
``--text`` and ``--corrupted`` are the clean and corrupted contexts z (the decoder's input
x: ``--decoder-text``, default the model's greedy output for the clean context); their
sites add the decoder's cross-attention and the encoder's ("encoder.resid", …).

Layers and heads count from 1 in the JSON's ``"layers"`` and ``"heads"``; positions from 0.
"""

from __future__ import annotations

import argparse
from typing import Any

from explorer.commands.intervene import TOKEN_HELP

METRIC_FLAGS = {"logit-diff": "logit_diff", "loss": "loss", "kl": "kl"}
SITE_NAMES = {"resid": "residual stream entering layer", "attn_out": "attention output",
              "mlp_out": "MLP output", "head_out": "head output", "q": "head query",
              "k": "head key", "v": "head value", "cross_out": "cross-attention output",
              "cross_head_out": "cross-attention head output",
              "cross_q": "cross-attention query", "cross_k": "cross-attention key",
              "cross_v": "cross-attention value"}


def add_pair_arguments(p: argparse.ArgumentParser) -> None:
    """The corrupted text, the tokens and the metric (``attribute`` and ``circuit``)."""
    corrupted = p.add_mutually_exclusive_group(required=True)
    corrupted.add_argument("--corrupted", help="the corrupted text (same number of tokens "
                           "as --text, the clean one; an encoder-decoder's corrupted context)")
    corrupted.add_argument("--corrupted-ids", metavar="IDS", help="the corrupted input as "
                           "token ids, e.g. 50256,1212,318 (with --ids)")
    p.add_argument("--target", required=True, help=f"the token the clean text should give, "
                   f"{TOKEN_HELP}")
    p.add_argument("--other", help="the token the corrupted text gives instead, spelled the "
                   "same ways (needed by --metric logit-diff: logit[target] − logit[other])")
    p.add_argument("--metric", choices=tuple(METRIC_FLAGS), default="logit-diff",
                   help="what the patches restore: the logit difference (default), the "
                   "loss of the target, or KL to the clean run; normalised 0 = corrupted, "
                   "1 = clean")
    p.add_argument("--position", type=int, default=-1, help="the position the metric reads "
                   "(0-based; negative counts from the end; default the last)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_pair_arguments(p)
    p.add_argument("--sites", help="which sites, comma-separated (default all: resid, "
                   "attn_out, mlp_out, head_out, q, k, v and, for an encoder-decoder, the "
                   "cross-attention's and the encoder's)")
    p.add_argument("--exact", action="store_true", help="also run the exact patching sweeps "
                   "(decoder or encoder, logit difference at the last position) and give "
                   "each site's correlation between the estimate and the exact patch")


def read_pair(inp: Any, args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of the analysis: clean, corrupted, target, other, metric,
    position (and decoder for an encoder-decoder)."""
    from explorer.analysis import AnalysisError

    seq2seq = inp.model.cfg.arch == "encoder-decoder"
    corrupted = inp.read(args.corrupted, args.corrupted_ids, "--corrupted",
                         which=1 if seq2seq else 0)
    metric = METRIC_FLAGS[args.metric]
    if metric == "logit_diff" and not args.other:
        raise AnalysisError("--metric logit-diff needs --other (or choose --metric loss or kl)")
    out = {"clean": inp.context if seq2seq else inp.ids, "corrupted": corrupted,
           "target": inp.token(args.target),
           "other": inp.token(args.other, "--other") if args.other else None,
           "metric": metric, "position": args.position}
    if seq2seq:
        out["decoder"] = inp.ids
    return out


def _r(v: float, digits: int = 6) -> float:
    return round(float(v), digits)


def header(inp: Any, pair: dict[str, Any], metric) -> dict[str, Any]:
    """What ``attribute`` and ``circuit`` both put in their JSON about the pair."""
    out = {"tokens": inp.labels(pair["clean"]), "corrupted_tokens": inp.labels(pair["corrupted"]),
           "target": inp.label(pair["target"]),
           "other": None if pair["other"] is None else inp.label(pair["other"]),
           "metric": metric.kind, "position": metric.position,
           "clean_metric": _r(metric.clean), "corrupted_metric": _r(metric.corrupted)}
    if "decoder" in pair:
        out["decoder_tokens"] = inp.labels(pair["decoder"])
    return out


def attribute(inp: Any, args: argparse.Namespace) -> tuple[dict[str, Any], list[str]]:
    from explorer.analysis.attribution import attribution_patching

    pair = read_pair(inp, args)
    sites = None if args.sites is None else [s.strip() for s in args.sites.split(",")
                                             if s.strip()]
    if args.exact:
        _check_exact(pair, sites)
    results, metric = attribution_patching(inp.model, **pair, sites=sites)
    out: dict[str, Any] = {"analysis": "attribute", **header(inp, pair, metric)}
    first = next(iter(results.values()))
    out["layers"] = list(range(1, int(first.values.shape[0]) + 1))
    out["sweeps"] = {site: [[_r(v, 5) for v in row] for row in r.values.tolist()]
                     for site, r in results.items()}
    heads = [r for r in results.values() if r.columns == "head"]
    if heads:
        out["heads"] = list(range(1, int(heads[0].values.shape[1]) + 1))
    if args.exact:
        out["correlation"] = _correlations(inp, pair, results)
    lines = [f"attribution patching of the {metric.name} at position {metric.position}: "
             f"clean {metric.clean:+.4f}, corrupted {metric.corrupted:+.4f}; linear "
             "estimates normalised (0 = corrupted, 1 = clean)"]
    for site, r in results.items():
        stack, _, name = site.rpartition(".")
        cols = [f"H{h + 1}" for h in range(r.values.shape[1])] if r.columns == "head" \
            else [str(t) for t in range(r.values.shape[1])]
        where = f"{stack} " if stack else ""
        lines += ["", f"{where}{SITE_NAMES[name]} (rows layers 1…, columns "
                  f"{'heads 1…' if r.columns == 'head' else 'positions'})",
                  "layer " + "".join(f"{c:>9}" for c in cols)]
        lines += [f"{i + 1:>5} " + "".join(f"{v:>9.3f}" for v in row)
                  for i, row in enumerate(r.values.tolist())]
    if args.exact:
        lines += ["", "correlation with exact patching: " + ", ".join(
            f"{site} {r:+.3f}" for site, r in out["correlation"].items())]
    return out, lines


def _check_exact(pair: dict[str, Any], sites: list[str] | None) -> None:
    from explorer.analysis import AnalysisError
    from explorer.analysis.patching import SWEEP_SITES

    if pair["metric"] != "logit_diff" or pair["position"] not in (-1, len(pair["clean"]) - 1):
        raise AnalysisError("--exact compares with the exact sweeps' metric: the logit "
                            "difference at the last position")
    if sites is not None and not set(sites) & set(SWEEP_SITES):
        raise AnalysisError(f"--exact needs one of the exact sweeps' sites: "
                            f"{', '.join(SWEEP_SITES)}")


def _correlations(inp: Any, pair: dict[str, Any], results: dict) -> dict[str, float]:
    """Pearson's r of the estimate and the exact patch, per site the exact sweeps cover."""
    from explorer.analysis import activation_patching
    from explorer.analysis.attribution import correlation
    from explorer.analysis.patching import SWEEP_SITES

    sites = [s for s in results if s in SWEEP_SITES]
    exact = activation_patching(inp.model, pair["clean"], pair["corrupted"], pair["target"],
                                pair["other"], sites)
    return {s: _r(correlation(results[s].values, exact[s].values), 4) for s in sites}
