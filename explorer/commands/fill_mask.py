"""``transformer-explorer fill-mask``: rank candidates for each masked token (Algorithm 9)."""

from __future__ import annotations

import argparse
import json
import re
import sys

from explorer.commands.model_arg import add_model_argument, model_input_ids, open_model_arg

HELP = "Rank candidates for masked tokens with an encoder (Algorithm 9)."
MASK_SPELLINGS = ("[MASK]", "<mask>", "_")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_argument(parser, "default-encoder")
    parser.add_argument("--text", required=True,
                        help="text with masks written as [MASK], <mask> or _")
    parser.add_argument("--top-k", type=int, default=5, help="candidates per mask")
    parser.add_argument("--json", action="store_true", help="print JSON")


def mask_positions(model, tok, text: str) -> tuple[list[int], list[int]]:
    """Model ids (as the model reads them) with every mask spelling as the mask id, and where."""
    mask_id = tok.special_ids.get("mask")
    if mask_id is None:
        raise ValueError("this tokenizer has no mask token")
    mask_str = tok.id_to_token(mask_id)
    pattern = "|".join(re.escape(s) for s in MASK_SPELLINGS if s != mask_str)
    normalised = re.sub(pattern, mask_str, text) if pattern else text
    ids = model_input_ids(model, tok, normalised)
    where = [t for t, i in enumerate(ids) if i == mask_id]
    if not where:
        raise ValueError(f"no mask in the text: write {' or '.join(MASK_SPELLINGS)}")
    return ids, where


def fill(model, tok, text: str, top_k: int) -> list[dict]:
    import torch

    ids, where = mask_positions(model, tok, text)
    if len(ids) > model.cfg.l_max:
        raise ValueError(f"the text has {len(ids)} tokens, more than l_max={model.cfg.l_max}")
    with torch.no_grad():
        probs = torch.softmax(model(torch.tensor([ids]))[0], dim=-1)
    out = []
    for t in where:
        top = probs[t].topk(top_k)
        out.append({"position": t, "candidates": [
            {"token": tok.token_strings([int(i)])[0], "id": int(i), "p": round(float(p), 4)}
            for p, i in zip(top.values, top.indices)]})
    return out


def run(args: argparse.Namespace) -> int:
    try:
        model, tok, _info = open_model_arg(args.model)
        if model.cfg.arch != "encoder":
            raise ValueError("fill-mask needs an encoder-only model (Algorithm 9)")
        result = fill(model, tok, args.text, args.top_k)
    except (ValueError, OSError) as exc:
        print(f"fill-mask: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    for r in result:
        cands = "  ".join(f"{c['token']!r} {c['p']:.3f}" for c in r["candidates"])
        print(f"mask at position {r['position']}: {cands}")
    return 0
