"""``transformer-explorer fill-mask``: rank candidates for each masked token (Algorithm 9)."""

from __future__ import annotations

import argparse
import json
import sys

from explorer.commands.model_arg import add_model_argument, open_model_arg

HELP = "Rank candidates for masked tokens with an encoder (Algorithm 9)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_argument(parser, "default-encoder")
    parser.add_argument("--text", required=True,
                        help="text with masks written as [MASK], <mask> or _")
    parser.add_argument("--top-k", type=int, default=5, help="candidates per mask")
    parser.add_argument("--json", action="store_true", help="print JSON")


def fill(model, tok, text: str, top_k: int) -> list[dict]:
    """Each mask's position and ranked candidates (``explorer.state.generation.fill_masks``)."""
    from explorer.state.generation import fill_masks

    result = fill_masks(model, tok, text, top_k)
    return [{"position": m.position, "candidates": [
        {"token": c.text, "id": c.token, "p": round(c.p, 4)} for c in m.candidates]}
        for m in result.masks]


def run(args: argparse.Namespace) -> int:
    try:
        model, tok, _info = open_model_arg(args.model)
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
