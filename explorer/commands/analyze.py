"""``transformer-explorer analyze lens|dla|loss|pca|ablate|patch|attribute|circuit|heads``:
look inside a model.

``lens``  the logit lens: the top token at every residual point and position;
``dla``   direct logit attribution of one token's logit at one position;
``loss``  the per-token loss of the training objective;
``pca``   the principal components of the token embeddings or of a residual point;
``ablate`` a head or MLP switched off, or every head in turn (``commands.intervene``);
``patch``  activation patching from a clean text into a corrupted one;
``attribute`` attribution patching and ``circuit`` edge attribution (``commands.attribute``,
``commands.circuit``);
``heads``  the progress measures of every head (``commands.analyze_heads``; no text).

The text is read the way the model was trained (``model_arg.model_input_ids``); for an
encoder-decoder, ``--text`` is the context z and ``--decoder-text`` the decoder's input
x (default: the model's own greedy output). ``--ids`` (and ``--decoder-ids``,
``--corrupted-ids``) give the input as token ids instead, as the model reads them: that
works for a model folder without a tokenizer.json too, its tokens then shown as ``#id``.
Tables by default, ``--json`` for JSON. Tokens are shown by ``explorer.tokenize.token_label``
(GPT-2's ``Ġthe`` as ``␣the``), the same as in the window.

Layers and heads count from 1 in every flag, table and JSON field (``commands.counting``):
a DLA part's ``"layer": 1`` is the first layer. Positions count from 0; a negative one
counts from the end.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from explorer.commands import analyze_heads, attribute, circuit, intervene
from explorer.commands.counting import HELP_NOTE
from explorer.commands.model_arg import (
    add_model_argument,
    model_input_ids,
    open_model_arg,
    parse_ids,
)

HELP = ("Logit lens, direct logit attribution, per-token loss, PCA, ablation, activation or "
        "attribution patching, circuit discovery of a model on a text or token ids; the "
        "progress measures of its heads.")

ANALYSES = {
    "lens": "The logit lens: what the output head says at every residual point.",
    "dla": "Direct logit attribution: each head's, MLP's and embedding's share of a logit.",
    "loss": "The per-token loss of the training objective (Algorithms 11-13).",
    "pca": "Principal components of the token embeddings or of a residual point.",
    "ablate": "Ablate a head or an MLP (or every head in turn) and show what changes.",
    "patch": "Activation patching, clean → corrupted: which activations restore the answer.",
    "attribute": "Attribution patching: the linear estimate of every patch, from one backward.",
    "circuit": "Circuit discovery: edge attribution (EAP, EAP-IG) and its faithfulness.",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = HELP_NOTE
    sub = parser.add_subparsers(dest="analysis", metavar="ANALYSIS", required=True)
    for name, help_text in ANALYSES.items():
        p = sub.add_parser(name, help=help_text, description=help_text, epilog=HELP_NOTE)
        add_model_argument(p, "default-decoder")
        given = p.add_mutually_exclusive_group(required=True)
        if name == "patch":  # patching refuses an encoder-decoder: no context, no decoder
            given.add_argument("--text", help="the clean text")
            given.add_argument("--ids", help="the clean input as token ids, e.g. "
                               "50256,1212,318 (as the model reads them: no token added)")
        else:
            given.add_argument("--text", help="the text (an encoder-decoder's context z)")
            given.add_argument("--ids", help="the input (an encoder-decoder's context z) as "
                               "token ids, e.g. 50256,1212,318, as the model reads them (no "
                               "token added); works without a tokenizer.json")
            decoder = p.add_mutually_exclusive_group()
            decoder.add_argument("--decoder-text", help="encoder-decoder: the decoder's "
                                 "input x (default: the model's greedy output for the "
                                 "context)")
            decoder.add_argument("--decoder-ids", help="encoder-decoder: the decoder's "
                                 "input x as token ids")
        p.add_argument("--json", action="store_true", help="print JSON")
        if name in ("lens", "dla"):
            p.add_argument("--position", type=int, help="position T (0-based; negative counts "
                           "from the end; default the last)")
            p.add_argument("--target", help="the token to follow, "
                           f"{intervene.TOKEN_HELP} (lens: default each position's next "
                           "token; dla: default the model's top token)")
        if name == "lens":
            p.add_argument("--top-k", type=int, default=5, help="tokens per cell in JSON")
        if name == "dla":
            p.add_argument("--other", help="attribute the logit difference target − other "
                           "(the other token spelled the same ways)")
        if name == "loss":
            p.add_argument("--mask", help="encoder: positions to mask, e.g. 2,5 or -1 "
                           "(0-based; default: every non-special position)")
            p.add_argument("--together", action="store_true", help="encoder: mask all those "
                           "positions in one copy (default: each alone)")
        if name == "ablate":
            intervene.add_ablate_arguments(p)
        if name == "patch":
            intervene.add_patch_arguments(p)
        if name in ("attribute", "circuit"):
            {"attribute": attribute, "circuit": circuit}[name].add_arguments(p)
        if name == "pca":
            p.add_argument("--of", choices=("embeddings", "text", "residual"),
                           default="residual", help="all token embeddings, the text's token "
                           "embeddings, or the residual stream over the text's positions "
                           "(default)")
            p.add_argument("--step", help="the trace step for --of residual, by its name "
                           "(counted from 0: blocks.0.resid_mlp is after layer 1; default "
                           "the last residual point)")
            p.add_argument("--components", type=int, default=2, help="axes (default 2)")
    analyze_heads.add_parser(sub, HELP_NOTE)


class _Input:
    """The model, tokenizer and the ids of the text, as the analysis functions take them."""

    def __init__(self, args: argparse.Namespace) -> None:
        from explorer.analysis import AnalysisError
        from explorer.analysis.common import check_token_output

        self.model, self.tok, self.info = open_model_arg(args.model, need_tokenizer=False)
        cfg = self.model.cfg
        if args.analysis != "pca":
            check_token_output(cfg, self.info.get("notes", ()))
        self.context = None
        decoder_text = getattr(args, "decoder_text", None)
        decoder_ids = getattr(args, "decoder_ids", None)
        if cfg.arch == "encoder-decoder":
            self.context = self.read(args.text, args.ids, "--text", which=1)
            if decoder_text is not None or decoder_ids is not None:
                self.ids = self.read(decoder_text, decoder_ids, "--decoder-text")
            elif args.text is None:
                raise AnalysisError("with --ids for the context, give the decoder's input "
                                    "with --decoder-ids (or --decoder-text)")
            else:
                self.ids = self._greedy(args.text)
        else:
            if decoder_text is not None or decoder_ids is not None:
                raise AnalysisError("--decoder-text and --decoder-ids are for an "
                                    "encoder-decoder model")
            self.ids = self.read(args.text, args.ids, "--text")

    def read(self, text: str | None, ids: str | None, flag: str, which: int = 0) -> list[int]:
        """The input the text option ``flag`` (``--text``, ``--decoder-text``,
        ``--corrupted``) or its ids twin (``--ids`` …) gives, as the model reads it."""
        from explorer.analysis import AnalysisError

        ids_flag = {"--text": "--ids"}.get(flag, flag.removesuffix("-text") + "-ids")
        if ids is not None:
            return parse_ids(ids, ids_flag)
        if self.tok is None:
            raise AnalysisError(f"this model folder has no tokenizer.json, so {flag} cannot "
                                f"be read: give the token ids with {ids_flag}")
        if not text.strip():
            what = {"--text": "text", "--corrupted": "corrupted text"}.get(flag, "text")
            raise AnalysisError(f"the {what} is empty: give {flag} with a few words")
        return model_input_ids(self.model, self.tok, text, which=which)

    def _greedy(self, text: str) -> list[int]:
        from explorer.state.generation import Generation, Settings

        gen = Generation(self.model, self.tok, Settings(max_new=self.model.cfg.l_max,
                                                        temperature=0))
        gen.start(text)
        gen.run()
        return [*gen.prompt_ids, *(r.token for r in gen.records)][: self.model.cfg.l_max]

    def label(self, token: int) -> str:
        from explorer.tokenize import token_label

        return token_label(self.tok, int(token))

    def labels(self, ids) -> list[str]:
        from explorer.tokenize import token_labels

        return token_labels(self.tok, ids)

    def token(self, text: str, what: str = "--target") -> int:
        """A token id from its spelling (as the tokenizer writes it, or as shown: ␣ for a
        space), or from ``#id``."""
        from explorer.state.step_data import find_token

        return find_token(self.tok, text, int(self.model.cfg.vocab_size), what)

    def position(self, value: int | None) -> int:
        from explorer.analysis.common import check_position

        return len(self.ids) - 1 if value is None else check_position(value, len(self.ids))


def _from_1(index: int | None) -> int | None:
    """A 0-based layer or head index of the Python API as the JSON counts it, from 1."""
    return None if index is None else index + 1


def _round(v: float, digits: int = 5) -> float | None:
    return None if math.isnan(v) else round(float(v), digits)


def _lens(inp: _Input, args: argparse.Namespace) -> tuple[dict[str, Any], list[str]]:
    from explorer.analysis import logit_lens

    target = inp.token(args.target) if args.target else None
    lens = logit_lens(inp.model, inp.ids, context=inp.context, targets=target,
                      top_k=max(1, args.top_k))
    t = inp.position(args.position)
    tokens = inp.labels(inp.ids)
    out = {
        "analysis": "lens", "tokens": tokens, "points": lens.labels,
        "targets": [inp.label(i) if i >= 0 else None for i in lens.targets.tolist()],
        "grid": [[{"top": [[inp.label(i), round(float(p), 5)]
                           for i, p in zip(lens.top_ids[r, c], lens.top_probs[r, c])],
                   "entropy": round(float(lens.entropy[r, c]), 5),
                   "target_p": _round(lens.target_probs[r, c]),
                   "target_rank": int(lens.target_ranks[r, c])}
                  for c in range(len(tokens))] for r in range(len(lens.points))],
        "position": t,
    }
    width = max(len(label) for label in lens.labels)
    lines = [f"{'':{width}}  " + " ".join(f"{tok[:7]:>12}" for tok in tokens)]
    for r, label in enumerate(lens.labels):
        cells = [f"{inp.label(lens.top_ids[r, c, 0])[:6]:>6} {float(lens.top_probs[r, c, 0]):.2f}"
                 for c in range(len(tokens))]
        lines.append(f"{label:{width}}  " + " ".join(f"{cell:>12}" for cell in cells))
    tgt = int(lens.targets[t])
    if tgt >= 0:
        lines.append(f"\ntarget {inp.label(tgt)!r} at position {t} ({tokens[t]!r}) over depth:")
        for r, label in enumerate(lens.labels):
            lines.append(f"  {label:{width}}  p = {float(lens.target_probs[r, t]):.4f}  "
                         f"rank {int(lens.target_ranks[r, t])}")
    return out, lines


def _dla(inp: _Input, args: argparse.Namespace) -> tuple[dict[str, Any], list[str]]:
    import torch

    from explorer.analysis import direct_logit_attribution, logit_lens

    t = inp.position(args.position)
    if args.target:
        target = inp.token(args.target)
    else:
        lens = logit_lens(inp.model, inp.ids, context=inp.context, top_k=1,
                          points=[p for p in _last_point(inp)])
        target = int(lens.top_ids[-1, t, 0])
    other = inp.token(args.other, "--other") if args.other else None
    dla = direct_logit_attribution(inp.model, inp.ids, t, target, other, context=inp.context)
    what = f"logit[{inp.label(target)!r}]" + (
        f" − logit[{inp.label(other)!r}]" if other is not None else "")
    out = {
        "analysis": "dla", "position": t, "token": inp.label(inp.ids[t]),
        "target": inp.label(target), "other": None if other is None else inp.label(other),
        "parts": [{"label": p.label, "kind": p.kind, "layer": _from_1(p.layer),
                   "head": _from_1(p.head), "value": round(float(v), 6)}
                  for p, v in zip(dla.parts, dla.values)],
        "remainder": round(dla.remainder, 6), "total": round(dla.total, 6),
        "logit": round(dla.logit, 6),
    }
    order = torch.argsort(dla.values.abs(), descending=True).tolist()
    lines = [f"{what} at position {t} ({inp.label(inp.ids[t])!r}) = {dla.logit:.4f}"]
    width = max(len(p.label) for p in dla.parts)
    lines += [f"  {dla.parts[i].label:{width}}  {float(dla.values[i]):+.4f}" for i in order]
    lines.append(f"  {'remainder (norm β, bias)':{width}}  {dla.remainder:+.4f}")
    lines.append(f"  {'total':{width}}  {dla.total:+.4f}")
    return out, lines


def _last_point(inp: _Input) -> list[str]:
    from explorer.analysis import residual_points

    return [residual_points(inp.model)[-1].name]


def _loss(inp: _Input, args: argparse.Namespace) -> tuple[dict[str, Any], list[str]]:
    from explorer.analysis import AnalysisError, token_loss

    kwargs: dict[str, Any] = {}
    if inp.model.cfg.arch == "encoder":
        mask = (getattr(inp.tok, "special_ids", None) or {}).get("mask")
        if mask is None:
            raise AnalysisError("this tokenizer has no mask token, so an encoder's masked-"
                                "token loss cannot be computed")
        if args.mask:
            try:
                masked = [inp.position(int(v)) for v in args.mask.split(",") if v.strip()]
            except ValueError as exc:
                raise AnalysisError(f"--mask takes positions like 2,5, not {args.mask!r}"
                                    ) from exc
        else:
            specials = set((getattr(inp.tok, "special_ids", None) or {}).values())
            masked = [t for t, i in enumerate(inp.ids) if i not in specials]
        kwargs = {"masked": masked, "mask_id": int(mask), "together": args.together}
    loss = token_loss(inp.model, inp.ids, context=inp.context, **kwargs)
    rows = [{"position": int(p), "token": inp.label(inp.ids[int(p)]),
             "target": inp.label(int(g)), "loss": round(float(v), 5)}
            for p, g, v in zip(loss.positions, loss.targets, loss.losses)]
    out = {"analysis": "loss", "objective": loss.objective, "tokens": inp.labels(inp.ids),
           "rows": rows, "mean": round(loss.mean, 6), "total": round(loss.total, 6),
           "count": loss.count}
    reads = "reads" if loss.objective != "masked" else "masked"
    lines = [f"{'t':>4}  {reads:>10}  {'target':>10}  loss (nats)"]
    lines += [f"{r['position']:>4}  {r['token']:>10}  {r['target']:>10}  {r['loss']:.4f}"
              for r in rows]
    lines.append(f"mean {loss.mean:.4f} over {loss.count} tokens, total {loss.total:.4f} "
                 f"({loss.objective})")
    return out, lines


def _pca(inp: _Input, args: argparse.Namespace) -> tuple[dict[str, Any], list[str]]:
    from explorer.analysis import embedding_projection, residual_points, residual_projection

    k = max(1, args.components)
    if args.of == "embeddings":
        proj = embedding_projection(inp.model, k=k)
        labels = inp.labels(proj.rows.tolist())
    elif args.of == "text":
        proj = embedding_projection(inp.model, inp.ids, k=k)
        labels = inp.labels(proj.rows.tolist())
    else:
        step = args.step or residual_points(inp.model)[-1].name
        proj = residual_projection(inp.model, inp.ids, step, context=inp.context, k=k)
        source = inp.context if step.startswith("encoder.") else inp.ids
        labels = [f"{t}:{inp.label(source[t])}" for t in proj.rows.tolist()]
    out = {"analysis": "pca", "of": proj.what,
           "explained_variance": [round(float(v), 6) for v in proj.variance],
           "explained_ratio": [round(float(v), 6) for v in proj.ratio],
           "points": [{"label": label, "coords": [round(float(c), 5) for c in row]}
                      for label, row in zip(labels, proj.coords)]}
    share = ", ".join(f"PC{i + 1} {100 * float(r):.1f} %" for i, r in enumerate(proj.ratio))
    lines = [f"PCA of the {proj.what}: {share} of the variance"]
    lines += [f"  {label:>12}  " + "  ".join(f"{float(c):+9.4f}" for c in row)
              for label, row in zip(labels, proj.coords)]
    return out, lines


def run(args: argparse.Namespace) -> int:
    from explorer.analysis import AnalysisError

    if args.analysis == "heads":
        return analyze_heads.run(args)
    compute = {"lens": _lens, "dla": _dla, "loss": _loss, "pca": _pca,
               "ablate": intervene.ablate, "patch": intervene.patch,
               "attribute": attribute.attribute, "circuit": circuit.circuit}[args.analysis]
    try:
        inp = _Input(args)
        out, lines = compute(inp, args)
    except (AnalysisError, ValueError, OSError) as exc:
        print(f"analyze {args.analysis}: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        print("\n".join(lines))
    return 0
