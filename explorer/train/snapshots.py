"""Weight snapshots of a run, every N steps: the frames of a time-lapse. Qt-free.

``TrainConfig.snapshot_every = N`` (``transformer-explorer train --snapshot-every N``, or
the Train tab's "Snapshot every" box) makes the loop write, at step 0 and every N steps::

    DIR/snapshots/config.json                 the model's config   (written once)
    DIR/snapshots/tokenizer.json              its tokenizer        (written once)
    DIR/snapshots/step-00000120.safetensors   the weights only, at step 120

Each file is written to a temporary name and renamed into place, so a reader never sees
half a snapshot. No optimiser state: a snapshot is for looking, not for resuming.

```python
for snap in list_snapshots("runs/demo"):          # sorted by step
    model = load_snapshot(snap.path)              # eval mode, on the CPU
tokenizer = snapshot_tokenizer("runs/demo")
```
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_model as _load_weights
from safetensors.torch import save_model as _save_weights

from explorer.core.serialization import CONFIG_FILE, read_config
from explorer.tokenize.tokenizer import load_tokenizer

SNAPSHOT_DIR = "snapshots"
TOKENIZER_FILE = "tokenizer.json"
_NAME = re.compile(r"^step-(\d{8,})\.safetensors$")


@dataclass(frozen=True)
class SnapshotFile:
    """One snapshot on disk: the step it was taken after, and its file."""

    step: int
    path: Path


def snapshot_dir(run_dir: str | os.PathLike) -> Path:
    return Path(run_dir) / SNAPSHOT_DIR


def snapshot_path(run_dir: str | os.PathLike, step: int) -> Path:
    return snapshot_dir(run_dir) / f"step-{int(step):08d}.safetensors"


def _replace_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_snapshot(model: torch.nn.Module, tokenizer: Any, step: int,
                   run_dir: str | os.PathLike, task: str | None = None) -> Path:
    """Write the weights of ``model`` after ``step`` (and, the first time, the config and
    the tokenizer) into ``run_dir/snapshots``; returns the snapshot's path. ``task`` goes
    into the config's ``extra`` so the views feed text as the model was trained."""
    folder = snapshot_dir(run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / CONFIG_FILE).is_file():
        data = {"model_type": "transformer-explorer", **model.cfg.to_dict()}
        if task is not None:
            data["extra"] = {**(data.get("extra") or {}), "task": task}
        _replace_text(folder / CONFIG_FILE, json.dumps(data, indent=2, sort_keys=True))
    if tokenizer is not None and not (folder / TOKENIZER_FILE).is_file():
        tmp = folder / f".{TOKENIZER_FILE}.tmp-{os.getpid()}"
        tokenizer.save(str(tmp))
        os.replace(tmp, folder / TOKENIZER_FILE)
    final = snapshot_path(run_dir, step)
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    try:
        _save_weights(model, str(tmp))
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return final


def list_snapshots(run_dir: str | os.PathLike) -> list[SnapshotFile]:
    """The snapshots of a run folder, sorted by step ([] when there are none)."""
    try:
        names = os.listdir(snapshot_dir(run_dir))
    except OSError:
        return []
    found = []
    for name in names:
        match = _NAME.match(name)
        if match:
            found.append(SnapshotFile(int(match.group(1)), snapshot_dir(run_dir) / name))
    return sorted(found, key=lambda s: s.step)


def _folder_of(path: str | os.PathLike) -> Path:
    p = Path(path)
    if p.suffix == ".safetensors":
        return p.parent
    return p if p.name == SNAPSHOT_DIR else p / SNAPSHOT_DIR


def load_snapshot(path: str | os.PathLike, device: str = "cpu") -> torch.nn.Module:
    """The model of one snapshot file (ValueError with a message if it cannot be read)."""
    path = Path(path)
    cfg = read_config(_folder_of(path))
    from explorer.core import build_model

    model = build_model(cfg)
    try:
        missing, unexpected = _load_weights(model, str(path), strict=False, device=device)
    except Exception as exc:  # noqa: BLE001 - safetensors' own error types, or a missing file
        raise ValueError(f"{path}: cannot read the snapshot ({exc})") from exc
    if missing or unexpected:
        raise ValueError(f"{path}: the weights do not fit {CONFIG_FILE} "
                         f"(missing {sorted(missing)[:3]}, unexpected {sorted(unexpected)[:3]})")
    model.eval().requires_grad_(False)
    if hasattr(model, "set_fused_attention"):
        model.set_fused_attention(False)
    return model


def snapshot_tokenizer(run_dir: str | os.PathLike) -> Any:
    """The tokenizer written beside the snapshots of ``run_dir`` (or a snapshot file)."""
    path = _folder_of(run_dir) / TOKENIZER_FILE
    if not path.is_file():
        raise ValueError(f"{path}: no tokenizer beside the snapshots")
    return load_tokenizer(path)
