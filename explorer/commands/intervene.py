"""``transformer-explorer analyze ablate|patch``: switch parts of a model off, or patch
activations from a clean text into a corrupted one.

``ablate --head L.H`` (or ``--mlp L``; 0-based) compares the text's run with that head
(or MLP) ablated to the clean run: the next-token loss, and at ``--position`` the change
of a token's probability, KL(clean ‖ ablated) and whether the top token changed. With no
head or MLP named it runs the head-importance sweep (each head ablated in turn, Δ loss).

``patch`` runs the activation-patching sweeps clean (``--text``) → corrupted
(``--corrupted``) with the metric logit[--target] − logit[--other] at the last position,
normalised to 0 = corrupted and 1 = clean: the residual stream, attention and MLP outputs
per (layer, position) and each head's output per (layer, head).
"""

from __future__ import annotations

import argparse
from typing import Any

SITE_ROWS = {"resid": "residual stream entering layer", "attn_out": "attention output",
             "mlp_out": "MLP output", "head_out": "head output"}


def add_ablate_arguments(p: argparse.ArgumentParser) -> None:
    which = p.add_mutually_exclusive_group()
    which.add_argument("--head", help="LAYER.HEAD to ablate, 0-based (e.g. 1.2); with no "
                       "--head or --mlp every head in turn (head importance)")
    which.add_argument("--mlp", type=int, help="LAYER whose MLP to ablate, 0-based")
    p.add_argument("--mean", action="store_true", help="mean-ablate (the mean over the "
                   "text's positions) instead of setting to 0")
    p.add_argument("--position", type=int, help="where to show the effect on the output "
                   "(default the last position)")
    p.add_argument("--target", help="the token whose probability change is shown "
                   "(default the clean run's top token)")


def add_patch_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--corrupted", required=True, help="the corrupted text (same number of "
                   "tokens as --text, the clean one)")
    p.add_argument("--target", required=True, help="the token the clean text should give")
    p.add_argument("--other", required=True, help="the token the corrupted text gives "
                   "instead (metric: logit[target] − logit[other] at the last position)")
    p.add_argument("--sites", default="resid,attn_out,mlp_out,head_out",
                   help="which sweeps (default all: resid,attn_out,mlp_out,head_out)")


def _head(value: str) -> tuple[int, int]:
    from explorer.analysis import AnalysisError

    layer, dot, head = value.partition(".")
    if not dot or not layer.isdigit() or not head.isdigit():
        raise AnalysisError(f"--head takes LAYER.HEAD like 1.2 (0-based), not {value!r}")
    return int(layer), int(head)


def _r(v: float, digits: int = 6) -> float:
    return round(float(v), digits)


def ablate(inp: Any, args: argparse.Namespace) -> tuple[dict[str, Any], list[str]]:
    from explorer.analysis import (
        AblateHead,
        AblateMLP,
        head_importance,
        intervention_effect,
        prepare,
        run_intervened,
    )

    mode = "mean" if args.mean else "zero"
    model = inp.model
    if args.head is None and args.mlp is None:
        result = head_importance(model, inp.ids, context=inp.context, mode=mode)
        out = {"analysis": "ablate", "sweep": "head_importance", "mode": mode,
               "base_loss": _r(result.base_loss),
               "delta_loss": [[_r(v) for v in row] for row in result.delta.tolist()]}
        heads = result.delta.shape[1]
        lines = [f"Δ loss with each head {mode}-ablated (loss without: "
                 f"{result.base_loss:.4f} nats; rows layers, columns heads, 0-based)",
                 "layer " + "".join(f"{h:>10}" for h in range(heads))]
        lines += [f"{i:>5} " + "".join(f"{v:>+10.4f}" for v in row)
                  for i, row in enumerate(result.delta.tolist())]
        return out, lines
    stack = "decoder" if model.cfg.arch == "encoder-decoder" else None
    if args.head is not None:
        layer, head = _head(args.head)
        iv = AblateHead(layer, head, mode, stack=stack)
    else:
        iv = AblateMLP(args.mlp, mode, stack=stack)
    inputs = prepare(model, inp.ids, inp.context)
    clean = run_intervened(model, inputs, [])
    ablated = run_intervened(model, inputs, [iv])
    t = inp.position(args.position)
    target = inp.token(args.target) if args.target else None
    effect = intervention_effect(clean, ablated, t, target)
    out: dict[str, Any] = {
        "analysis": "ablate", "intervention": iv.to_dict(), "label": iv.label,
        "position": t, "target": inp.label(effect.target),
        "p_clean": _r(effect.p_clean), "p_ablated": _r(effect.p_intervened),
        "delta_p": _r(effect.delta_p), "kl": _r(effect.kl),
        "top_clean": inp.label(effect.top_clean), "top_ablated": inp.label(
            effect.top_intervened), "top_changed": effect.top_changed}
    lines = [f"{iv.label}, at position {t} ({inp.label(inp.ids[t])!r}):",
             f"  P({inp.label(effect.target)!r}) {effect.p_clean:.4f} → "
             f"{effect.p_intervened:.4f} (Δ {effect.delta_p:+.4f})",
             f"  KL(clean ‖ ablated) = {effect.kl:.4f} nats",
             f"  top token {inp.label(effect.top_clean)!r} → "
             f"{inp.label(effect.top_intervened)!r}"
             + (" (changed)" if effect.top_changed else " (unchanged)")]
    if model.cfg.arch != "encoder" and len(inp.ids) > 1:
        base, loss = (_next_token_loss(logits, inputs.x) for logits in (clean, ablated))
        out |= {"loss": _r(base), "loss_ablated": _r(loss), "delta_loss": _r(loss - base)}
        lines.append(f"  next-token loss {base:.4f} → {loss:.4f} (Δ {loss - base:+.4f})")
    return out, lines


def _next_token_loss(logits, x) -> float:
    import torch

    return float(torch.nn.functional.cross_entropy(logits[0, :-1].float(), x[0, 1:]))


def patch(inp: Any, args: argparse.Namespace) -> tuple[dict[str, Any], list[str]]:
    from explorer.analysis import AnalysisError, activation_patching
    from explorer.commands.model_arg import model_input_ids

    if inp.model.cfg.arch == "encoder-decoder":
        raise AnalysisError("activation patching sweeps need a decoder- or encoder-only "
                            "model")
    if not args.corrupted.strip():
        raise AnalysisError("the corrupted text is empty: give --corrupted with a few words")
    corrupted = model_input_ids(inp.model, inp.tok, args.corrupted)
    target, other = inp.token(args.target), inp.token(args.other, "--other")
    sites = [s.strip() for s in args.sites.split(",") if s.strip()]
    results = activation_patching(inp.model, inp.ids, corrupted, target, other, sites)
    clean_tokens, bad_tokens = inp.labels(inp.ids), inp.labels(corrupted)
    first = next(iter(results.values()))
    out: dict[str, Any] = {
        "analysis": "patch", "tokens": clean_tokens, "corrupted_tokens": bad_tokens,
        "target": inp.label(target), "other": inp.label(other),
        "clean_diff": _r(first.clean_diff), "corrupted_diff": _r(first.corrupted_diff),
        "sweeps": {site: [[_r(v, 5) for v in row] for row in r.values.tolist()]
                   for site, r in results.items()}}
    lines = [f"logit[{inp.label(target)!r}] − logit[{inp.label(other)!r}] at the last "
             f"position: clean {first.clean_diff:+.4f}, corrupted {first.corrupted_diff:+.4f}"
             "; patched runs normalised (0 = corrupted, 1 = clean)"]
    for site, r in results.items():
        if site == "head_out":
            cols = [f"H{h}" for h in range(r.values.shape[1])]
        else:
            cols = [(a if a == b else f"{a}/{b}")[:8] for a, b in zip(clean_tokens, bad_tokens)]
        lines += ["", f"{SITE_ROWS[site]} (rows layers 0…, columns "
                  f"{'heads' if site == 'head_out' else 'positions clean/corrupted'})",
                  "layer " + "".join(f"{c:>9}" for c in cols)]
        lines += [f"{i:>5} " + "".join(f"{v:>9.3f}" for v in row)
                  for i, row in enumerate(r.values.tolist())]
    return out, lines
