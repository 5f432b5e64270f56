"""The ``transformer-explorer`` command: no subcommand opens the window.

Each subcommand lives in ``explorer.commands.<name>`` and provides ``HELP`` (its one-line
summary, the only copy: ``--help`` lists it and the subcommand's own help starts with it),
``add_arguments(parser)`` and ``run(args) -> int``. Modules are imported lazily so that
``--help`` and the window's start stay fast: the summaries are read from the modules'
source without running them (``command_help``).
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import os
import sys

from explorer.commands.counting import HELP_NOTE

COMMANDS = ("inspect", "bench", "tokenize", "train", "generate", "fill-mask", "classify",
            "render", "data", "bundle", "analyze", "sae")


def _module_name(name: str) -> str:
    return f"explorer.commands.{name.replace('-', '_')}"


def _command_module(name: str):
    return importlib.import_module(_module_name(name))


def command_help(name: str) -> str:
    """The ``HELP`` of command ``name``'s module, read from its source without importing it
    (``train`` imports torch: seconds); imported when the source is not at hand (a frozen
    app) or ``HELP`` is not a plain string there."""
    module = _module_name(name)
    spec = importlib.util.find_spec(module)
    try:
        source = spec.loader.get_source(module) if spec and spec.loader else None
    except (ImportError, OSError):
        source = None
    for node in ast.parse(source).body if source else ():
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "HELP" for t in node.targets):
            try:
                return str(ast.literal_eval(node.value))
            except ValueError:
                break
    return str(_command_module(name).HELP)


def build_parser(names: list[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="transformer-explorer",
        description="See, step through and train the algorithms of "
        "'Formal Algorithms for Transformers'. With no command, opens the window.",
        epilog=HELP_NOTE,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        if names is None or name in names:
            module = _command_module(name)
            p = sub.add_parser(name, help=module.HELP, description=module.HELP)
            module.add_arguments(p)
        elif names:  # another command runs: its summary is never shown
            sub.add_parser(name)
        else:  # the list of commands (--help): their summaries, without importing them
            help_text = command_help(name)
            sub.add_parser(name, help=help_text, description=help_text)
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
