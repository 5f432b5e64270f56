"""``transformer-explorer bundle RUN OUT``: a training run's model as a folder the app opens.

Copies ``model.safetensors`` and ``tokenizer.json`` of the run's checkpoint and writes
its ``config.json`` with what the run was (task, data, tokenizer, class labels, steps)
in ``extra``, so the window and ``classify`` can name the classes. This is how the
bundled models in ``resources/models/`` are made (see its README).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

HELP = "Copy a training run's model into a folder the app opens (resources/models/NAME)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="a training run folder (transformer-explorer train --out)")
    parser.add_argument("out", help="the model folder to write")


def bundle(run: str | os.PathLike, out: str | os.PathLike) -> Path:
    from explorer.core import read_config
    from explorer.train import find_checkpoint, read_checkpoint_state

    checkpoint = Path(find_checkpoint(run))
    state = read_checkpoint_state(run)
    cfg = read_config(checkpoint)
    info, train = state.get("info", {}), state.get("train_config", {})
    extra = dict(cfg.extra)
    extra.update({
        "task": train.get("task"),
        "data": info.get("data"),
        "tokenizer": info.get("tokenizer"),
        "steps": state.get("step"),
        "seed": train.get("seed"),
    })
    if info.get("labels"):
        extra["labels"] = list(info["labels"])
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    for name in ("model.safetensors", "tokenizer.json"):
        shutil.copyfile(checkpoint / name, target / name)
    data = {"model_type": "transformer-explorer", **cfg.replace(extra=extra).to_dict()}
    (target / "config.json").write_text(json.dumps(data, indent=2, sort_keys=True) + "\n",
                                        encoding="utf-8")
    return target


def run(args: argparse.Namespace) -> int:
    try:
        target = bundle(args.run, args.out)
    except (ValueError, OSError) as exc:
        print(f"bundle: {exc}", file=sys.stderr)
        return 2
    print(f"model written to {target}")
    return 0
