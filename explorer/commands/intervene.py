"""``transformer-explorer analyze ablate|patch``: switch parts of a model off, or patch
activations from a clean text into a corrupted one.

``ablate --head L.H`` (or ``--mlp L``; layers and heads count from 1, as in the paper and
the window: ``commands.counting``) compares the text's run with that head (or MLP) ablated
to the clean run: the next-token loss, and at ``--position`` the change of a token's
probability, KL(clean ‖ ablated) and whether the top token changed. With no head or MLP
named it runs the head-importance sweep (each head ablated in turn, Δ loss).

``patch`` runs the activation-patching sweeps clean (``--text``) → corrupted
(``--corrupted``) with the metric logit[--target] − logit[--other] at the last position,
normalised to 0 = corrupted and 1 = clean: the residual stream, attention and MLP outputs
per (layer, position) and each head's output per (layer, head). It warns (on stderr and in
the JSON's ``warning``) when the clean and corrupted logit differences are too close for
the normalised values to mean anything (``explorer.analysis.patching.WEAK_FRACTION``).

JSON counts layers and heads from 1 (``"layer": 1`` is the first layer; ``"layers"`` and
``"heads"`` list the numbers of a sweep's rows and columns); positions from 0.
"""

from __future__ import annotations

import argparse
from typing import Any

from explorer.commands.counting import check_head, check_layer, counted_from_1, layer_head

SITE_ROWS = {"resid": "residual stream entering layer", "attn_out": "attention output",
             "mlp_out": "MLP output", "head_out": "head output"}
TOKEN_HELP = ("as the tokenizer spells it (GPT-2: Ġthe), as the window shows it (␣the: ␣ for "
              "a space, ⏎ a newline), or as #id (#50256)")


def add_ablate_arguments(p: argparse.ArgumentParser) -> None:
    which = p.add_mutually_exclusive_group()
    which.add_argument("--head", metavar="LAYER.HEAD",
                       help="the head to ablate, counted from 1 (1.2: layer 1, head 2); "
                       "with no --head or --mlp every head in turn (head importance)")
    which.add_argument("--mlp", type=int, metavar="LAYER",
                       help="the layer whose MLP to ablate, counted from 1")
    p.add_argument("--mean", action="store_true", help="mean-ablate (the mean over the "
                   "text's positions) instead of setting to 0")
    p.add_argument("--position", type=int, help="where to show the effect on the output "
                   "(0-based; negative counts from the end; default the last)")
    p.add_argument("--target", help=f"the token whose probability change is shown, "
                   f"{TOKEN_HELP} (default the clean run's top token)")


def add_patch_arguments(p: argparse.ArgumentParser) -> None:
    corrupted = p.add_mutually_exclusive_group(required=True)
    corrupted.add_argument("--corrupted", help="the corrupted text (same number of tokens "
                           "as --text, the clean one)")
    corrupted.add_argument("--corrupted-ids", metavar="IDS", help="the corrupted input as "
                           "token ids, e.g. 50256,1212,318 (with --ids)")
    p.add_argument("--target", required=True, help=f"the token the clean text should give, "
                   f"{TOKEN_HELP}")
    p.add_argument("--other", required=True, help="the token the corrupted text gives "
                   "instead, spelled the same ways (metric: logit[target] − logit[other] at "
                   "the last position)")
    p.add_argument("--sites", default="resid,attn_out,mlp_out,head_out",
                   help="which sweeps (default all: resid,attn_out,mlp_out,head_out)")


def _r(v: float, digits: int = 6) -> float:
    return round(float(v), digits)


def _shown(iv) -> dict[str, Any]:
    """An intervention as the JSON shows it: layers and heads counted from 1."""
    data = iv.to_dict()
    for key in ("layer", "head"):
        if data.get(key) is not None:
            data[key] += 1
    return data


def _intervention(model, args: argparse.Namespace, mode: str):
    """The ablation ``--head``/``--mlp`` names (typed from 1, checked against the model)."""
    from explorer.analysis import AblateHead, AblateMLP
    from explorer.analysis.locate import stack_module

    stack = "decoder" if model.cfg.arch == "encoder-decoder" else None
    blocks = stack_module(model, stack).blocks
    if args.head is not None:
        layer, head = layer_head(args.head)
        layer = check_layer(layer, len(blocks), f"--head {args.head}")
        head = check_head(head, blocks[layer].attn.n_heads, f"--head {args.head}")
        return AblateHead(layer, head, mode, stack=stack)
    layer = check_layer(counted_from_1(args.mlp, "--mlp"), len(blocks), f"--mlp {args.mlp}")
    return AblateMLP(layer, mode, stack=stack)


def ablate(inp: Any, args: argparse.Namespace) -> tuple[dict[str, Any], list[str]]:
    from explorer.analysis import head_importance, intervention_effect, prepare, run_intervened
    from explorer.state.interventions import describe

    mode = "mean" if args.mean else "zero"
    model = inp.model
    if args.head is None and args.mlp is None:
        result = head_importance(model, inp.ids, context=inp.context, mode=mode)
        n_layers, heads = result.delta.shape
        out = {"analysis": "ablate", "sweep": "head_importance", "mode": mode,
               "base_loss": _r(result.base_loss), "layers": list(range(1, n_layers + 1)),
               "heads": list(range(1, heads + 1)),
               "delta_loss": [[_r(v) for v in row] for row in result.delta.tolist()]}
        lines = [f"Δ loss with each head {mode}-ablated (loss without: "
                 f"{result.base_loss:.4f} nats; rows layers, columns heads, from 1)",
                 "layer " + "".join(f"{'H' + str(h + 1):>10}" for h in range(heads))]
        lines += [f"{i + 1:>5} " + "".join(f"{v:>+10.4f}" for v in row)
                  for i, row in enumerate(result.delta.tolist())]
        return out, lines
    iv = _intervention(model, args, mode)
    inputs = prepare(model, inp.ids, inp.context)
    clean = run_intervened(model, inputs, [])
    ablated = run_intervened(model, inputs, [iv])
    t = inp.position(args.position)
    target = inp.token(args.target) if args.target else None
    effect = intervention_effect(clean, ablated, t, target)
    label = describe(iv, inp.labels(inp.ids))
    out: dict[str, Any] = {
        "analysis": "ablate", "intervention": _shown(iv), "label": label,
        "position": t, "target": inp.label(effect.target),
        "p_clean": _r(effect.p_clean), "p_ablated": _r(effect.p_intervened),
        "delta_p": _r(effect.delta_p), "kl": _r(effect.kl),
        "top_clean": inp.label(effect.top_clean), "top_ablated": inp.label(
            effect.top_intervened), "top_changed": effect.top_changed}
    lines = [f"{label}; at position {t} ({inp.label(inp.ids[t])!r}):",
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
    import sys

    from explorer.analysis import AnalysisError, activation_patching

    if inp.model.cfg.arch == "encoder-decoder":
        raise AnalysisError("activation patching sweeps need a decoder- or encoder-only "
                            "model")
    corrupted = inp.read(args.corrupted, args.corrupted_ids, "--corrupted")
    target, other = inp.token(args.target), inp.token(args.other, "--other")
    sites = [s.strip() for s in args.sites.split(",") if s.strip()]
    results = activation_patching(inp.model, inp.ids, corrupted, target, other, sites)
    clean_tokens, bad_tokens = inp.labels(inp.ids), inp.labels(corrupted)
    first = next(iter(results.values()))
    warning = first.weak_difference
    if warning:
        print(f"analyze patch: warning: {warning}", file=sys.stderr)
    n_layers = int(first.values.shape[0])
    out: dict[str, Any] = {
        "analysis": "patch", "tokens": clean_tokens, "corrupted_tokens": bad_tokens,
        "target": inp.label(target), "other": inp.label(other),
        "clean_diff": _r(first.clean_diff), "corrupted_diff": _r(first.corrupted_diff),
        "logit_std": _r(first.logit_std), "warning": warning,
        "layers": list(range(1, n_layers + 1)),
        "sweeps": {site: [[_r(v, 5) for v in row] for row in r.values.tolist()]
                   for site, r in results.items()}}
    if "head_out" in results:
        out["heads"] = list(range(1, int(results["head_out"].values.shape[1]) + 1))
    lines = [f"logit[{inp.label(target)!r}] − logit[{inp.label(other)!r}] at the last "
             f"position: clean {first.clean_diff:+.4f}, corrupted {first.corrupted_diff:+.4f}"
             "; patched runs normalised (0 = corrupted, 1 = clean)"]
    if warning:
        lines.append(f"warning: {warning}")
    for site, r in results.items():
        if site == "head_out":
            cols = [f"H{h + 1}" for h in range(r.values.shape[1])]
        else:
            cols = [(a if a == b else f"{a}/{b}")[:8] for a, b in zip(clean_tokens, bad_tokens)]
        lines += ["", f"{SITE_ROWS[site]} (rows layers 1…, columns "
                  f"{'heads 1…' if site == 'head_out' else 'positions clean/corrupted'})",
                  "layer " + "".join(f"{c:>9}" for c in cols)]
        lines += [f"{i + 1:>5} " + "".join(f"{v:>9.3f}" for v in row)
                  for i, row in enumerate(r.values.tolist())]
    return out, lines
