"""``transformer-explorer data build|check|list``: the bundled generated data sets.

``build`` regenerates every file bit for bit (seeded, order-independent) into ``--out``,
by default the checkout's ``resources/data`` (an installed package is never rewritten);
``check`` regenerates in memory and reports the files that differ from those on
disk; ``list`` prints each data set, its splits and sizes. ``data`` alone prints help.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "Rebuild (build), verify (check) or list the bundled generated data sets."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``ACTION [--out DIR] [--only NAME ...]``; no ACTION prints the help."""
    parser.add_argument("action", choices=["build", "check", "list"], nargs="?",
                        default=None, help="build: write the files; check: compare them with "
                        "the files in the data folder; list: the data sets and their sizes")
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="the data folder to write, check or list (default: for build, "
                             "resources/data of the source checkout the package runs from, "
                             "and required in an installed package; otherwise the bundled "
                             "data)")
    parser.add_argument("--only", metavar="NAME", action="append", default=None,
                        help="only this data set (repeatable)")
    parser.set_defaults(data_help=parser.format_help)


def run(args: argparse.Namespace) -> int:
    """Build, check or list; returns 0, or 1 when a check finds differences or a name is bad,
    2 when build has no --out in an installed package. No action: the help, 0."""
    from explorer.data import builders, registry

    if args.action is None:
        print(args.data_help(), end="")
        return 0
    names = args.only or list(registry.DATASETS)
    unknown = [n for n in names if n not in registry.DATASETS]
    if unknown:
        print(f"unknown data set(s): {', '.join(unknown)} "
              f"(known: {', '.join(registry.DATASETS)})", file=sys.stderr)
        return 1
    if args.out:
        out = Path(args.out)
    elif args.action == "build":
        out = registry.checkout_data_root()
        if out is None:
            print(f"data build: {registry.data_root()} belongs to an installed package and "
                  "is not rewritten; give --out DIR to write the data sets there",
                  file=sys.stderr)
            return 2
    else:
        out = registry.data_root()
    if args.action == "list":
        for name in names:
            info = registry.DATASETS[name]
            sizes = []
            for split in info.splits:
                path = out / name / f"{split}{info.suffix}"
                size = f"{path.stat().st_size / 1e3:.0f} kB" if path.is_file() else "missing"
                sizes.append(f"{split} {size}")
            print(f"{name:12s} {info.kind:9s} {', '.join(sizes)}\n{'':12s} {info.description}")
        return 0
    if args.action == "check":
        status = 0
        for name in names:
            differ = builders.differences(name, out)
            print(f"{name}: {'differs: ' + ', '.join(differ) if differ else 'identical'}")
            status |= bool(differ)
        return status
    for name in names:
        for path in builders.write(name, out):
            print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0
