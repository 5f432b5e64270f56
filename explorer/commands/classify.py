"""``transformer-explorer classify``: P(c | x) from an encoder with a class head."""

from __future__ import annotations

import argparse
import json
import sys

from explorer.commands.model_arg import add_model_argument, open_model_arg

HELP = "Class probabilities P(c|x) from an encoder classifier."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_argument(parser, "default-classifier")
    parser.add_argument("--text", required=True, help="the text to classify")
    parser.add_argument("--json", action="store_true", help="print JSON")


def class_probabilities(model, tok, text: str) -> list[tuple[str, float]]:
    """(label, P(c | x)), likeliest first (``explorer.state.generation``)."""
    from explorer.state.generation import class_probabilities as probabilities

    return sorted(probabilities(model, tok, text), key=lambda kv: -kv[1])


def run(args: argparse.Namespace) -> int:
    try:
        model, tok, _info = open_model_arg(args.model)
        result = class_probabilities(model, tok, args.text)
    except (ValueError, OSError) as exc:
        print(f"classify: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({label: round(p, 4) for label, p in result}))
        return 0
    for label, p in result:
        print(f"{label:>12}  {p:6.3f}  {'█' * round(40 * p)}")
    return 0
