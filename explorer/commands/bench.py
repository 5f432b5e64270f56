"""``transformer-explorer bench NAME``: benchmarks that print JSON numbers.

Each benchmark is ``explorer.bench.<name>`` with ``add_arguments(parser)`` and
``run(args) -> dict``. Numbers are printed, never asserted: compare ratios measured
side by side in one run.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys

HELP = ("Benchmarks that print numbers as JSON (forward, train, ui, tokenize, quality, "
        "analysis, load, sae).")

BENCHMARKS = {
    "forward": "Forward and forward+record latency, and memory.",
    "train": "Our training step vs a bare PyTorch loop (tokens/s ratio), GUI responsiveness.",
    "ui": "Window first paint, keystroke-to-update and step-change latency (offscreen).",
    "tokenize": "Training each tokenizer kind on 5 MB and tokenizing 1 MB.",
    "quality": "The bundled trained models on held-out data (loss, accuracy, exact match).",
    "analysis": "Logit lens, DLA and per-token loss, each in plain forward passes.",
    "load": "The memory a model folder costs once opened (RSS against the weights' bytes).",
    "sae": "Training an SAE on the bundled decoder: activations/s, memory, FVU, CE recovered.",
}


def _module(name: str):
    return importlib.import_module(f"explorer.bench.{name}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    for name, help_text in BENCHMARKS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        try:
            _module(name).add_arguments(p)
        except ModuleNotFoundError as exc:  # a third-party package a benchmark compares with
            if (exc.name or "").partition(".")[0] == "explorer":
                raise  # our own code is never optional
            p.set_defaults(_unavailable=str(exc))


def run(args: argparse.Namespace) -> int:
    if getattr(args, "_unavailable", None):
        print(f"bench {args.benchmark} is unavailable: {args._unavailable}", file=sys.stderr)
        return 2
    try:
        result = _module(args.benchmark).run(args)
    except ValueError as exc:  # a bad option value: say so, no traceback
        print(f"bench {args.benchmark}: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    return 0
