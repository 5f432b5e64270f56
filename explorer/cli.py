"""The ``transformer-explorer`` command: no subcommand opens the window.

Each subcommand lives in ``explorer.commands.<name>`` and provides ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``. Modules are imported lazily so
that ``--help`` and the window's start stay fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

COMMANDS: dict[str, str] = {
    "inspect": "Run a model on a text and print every step of the forward pass.",
    "bench": "Benchmarks that print numbers (forward, train, ui).",
    "tokenize": "Train or load a tokenizer and show how it splits a text.",
    "train": "Train a model headless (Algorithms 11-13 and classification).",
    "generate": "Sample from a decoder (Algorithm 14) or an encoder-decoder (Algorithm 15).",
    "fill-mask": "Rank candidates for masked tokens with an encoder (Algorithm 9).",
    "classify": "Class probabilities P(c|x) from an encoder classifier.",
    "render": "Render a view to PNG or SVG without showing a window.",
    "data": "Rebuild the bundled generated data sets.",
    "bundle": "Copy a training run's model into a folder the app opens.",
    "analyze": "Logit lens, DLA, per-token loss, PCA, ablation or activation patching.",
}


def _command_module(name: str):
    return importlib.import_module(f"explorer.commands.{name.replace('-', '_')}")


def build_parser(names: list[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="transformer-explorer",
        description="See, step through and train the algorithms of "
        "'Formal Algorithms for Transformers'. With no command, opens the window.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if names is None or name in names:
            _command_module(name).add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # Ctrl+C while Python and torch are still importing
        print("\ninterrupted", file=sys.stderr)
        return 130


def _main(argv: list[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv and argv[0] in COMMANDS else None
    if command is None and not {"-h", "--help"} & set(argv):
        from explorer.app import run_app

        return run_app(argv)
    parser = build_parser([command] if command in COMMANDS else [])
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(_command_module(args.command).run(args) or 0)
    except BrokenPipeError:  # the reader went away (`... | head`): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
