"""Checkpoints of a run: everything needed to look at the model and to continue exactly.

A run folder ``DIR`` holds ``metrics.jsonl``, ``.lock`` (the file an operating-system lock
is taken on while a run writes there: ``explorer.train.runlock``), and
``DIR/checkpoint/`` with:

- ``config.json`` + ``model.safetensors``  the model (``explorer.core.load_model`` opens it)
- ``tokenizer.json``                       the tokenizer
- ``trainer.json``     step, training config (the learning-rate schedule is a function of
  the step and this config, so it is the scheduler's whole state), data, optimiser
  groups, sha256 of every file
- ``trainer.safetensors``  optimiser moments, RNG states, the loss history

No pickle is ever read. A save writes a new folder beside the old one, then renames
it into place (the previous one is kept as ``checkpoint.prev`` until the rename is done),
so a crash mid-write leaves the last good checkpoint intact. ``trainer.json`` is
written last and lists the sha256 of each file, so a damaged file gives a clear error.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from explorer.core import load_model, read_config, save_model
from explorer.train.loop import History, Trainer
from explorer.train.runlock import _HELD, LOCK_FILE, RunLock, RunLocked  # noqa: F401

FORMAT = "transformer-explorer-train"
CHECKPOINT_DIR = "checkpoint"
PREVIOUS_DIR = "checkpoint.prev"
STATE_JSON = "trainer.json"
STATE_TENSORS = "trainer.safetensors"
TOKENIZER_FILE = "tokenizer.json"
METRICS_FILE = "metrics.jsonl"


class CheckpointError(ValueError):
    """A checkpoint is missing, incomplete or damaged."""


# -- saving ----------------------------------------------------------------------------
def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _optimizer_state(trainer: Trainer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    sd = trainer.optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, Any] = {}
    for index, state in sd["state"].items():
        for key, value in state.items():
            name = f"optimizer.{index}.{key}"
            if isinstance(value, torch.Tensor):
                tensors[name] = value.detach().to("cpu").contiguous()
            else:
                scalars[name] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def _rng_state(trainer: Trainer) -> dict[str, torch.Tensor]:
    out = {
        "rng.torch": torch.get_rng_state(),
        "rng.batch": trainer.batch_gen.get_state(),
        "rng.mask": trainer.mask_gen.get_state(),
    }
    if trainer.device.type == "cuda":
        out["rng.cuda"] = torch.cuda.get_rng_state(trainer.device)
    return out


def _history_tensors(h: History) -> dict[str, torch.Tensor]:
    return {
        "history.step": torch.tensor(h.step, dtype=torch.int64),
        "history.loss": torch.tensor(h.loss, dtype=torch.float64),
        "history.lr": torch.tensor(h.lr, dtype=torch.float64),
        "history.grad_norm": torch.tensor(h.grad_norm, dtype=torch.float64),
        "history.val_step": torch.tensor(h.val_step, dtype=torch.int64),
        "history.val_loss": torch.tensor(h.val_loss, dtype=torch.float64),
    }


def _write(trainer: Trainer, folder: Path) -> None:
    save_model(trainer.model, folder)
    trainer.tokenizer.save(str(folder / TOKENIZER_FILE))
    optim_tensors, optim_json = _optimizer_state(trainer)
    tensors = {**optim_tensors, **_rng_state(trainer), **_history_tensors(trainer.history)}
    save_file(tensors, str(folder / STATE_TENSORS))
    files = {p.name: _sha256(p) for p in sorted(folder.iterdir()) if p.is_file()}
    state = {
        "format": FORMAT,
        "version": 1,
        "step": trainer.step,
        "tokens": trainer.tokens,
        "elapsed_s": trainer.elapsed_s,
        "device": str(trainer.device),
        "ranks": trainer.dist.world_size,  # processes that trained it (global batch below)
        "global_batch": trainer.global_batch,
        "train_config": trainer.config.to_dict(),
        "info": trainer.info,
        "optimizer": optim_json,
        "files": files,
    }
    (folder / STATE_JSON).write_text(json.dumps(state, indent=2), encoding="utf-8")


TMP_PREFIX = ".checkpoint-tmp-"


def remove_stale_temporaries(directory: str | os.PathLike) -> list[Path]:
    """Delete the half-written ``.checkpoint-tmp-*`` folders a killed save left behind.

    Call it only while holding the run's lock: then no other save can be writing one."""
    run_dir = Path(directory)
    removed = []
    try:
        stale = [p for p in run_dir.iterdir() if p.name.startswith(TMP_PREFIX) and p.is_dir()]
    except OSError:
        return removed
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            removed.append(path)
    return removed


def truncate_metrics(directory: str | os.PathLike, step: int) -> int:
    """Drop the lines of ``directory/metrics.jsonl`` after ``step`` (the steps a resumed run
    trains again); returns how many were dropped. The file is replaced atomically."""
    path = Path(directory) / METRICS_FILE
    if not path.is_file():
        return 0
    kept: list[str] = []
    dropped = 0
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                row_step = json.loads(line).get("step")
            except (ValueError, AttributeError):
                row_step = None
            if isinstance(row_step, int) and row_step > step:
                dropped += 1
            elif line.strip():
                kept.append(line if line.endswith("\n") else line + "\n")
    if dropped:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("".join(kept), encoding="utf-8")
        os.replace(tmp, path)
    return dropped


def save_checkpoint(trainer: Trainer, directory: str | os.PathLike) -> Path:
    """Write ``directory/checkpoint`` atomically; returns its path."""
    run_dir = Path(directory).resolve()
    lock = None if run_dir in _HELD else RunLock(run_dir).acquire()
    try:
        remove_stale_temporaries(run_dir)
        tmp = run_dir / f"{TMP_PREFIX}{os.getpid()}-{time.monotonic_ns()}"
        tmp.mkdir(parents=True)
        try:
            _write(trainer, tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        final, previous = run_dir / CHECKPOINT_DIR, run_dir / PREVIOUS_DIR
        if final.exists():
            shutil.rmtree(previous, ignore_errors=True)
            os.replace(final, previous)
        os.replace(tmp, final)
        shutil.rmtree(previous, ignore_errors=True)
        trainer.saved = (trainer.step, final)
        return final
    finally:
        if lock is not None:
            lock.release()


# -- loading ---------------------------------------------------------------------------
def find_checkpoint(path: str | os.PathLike) -> Path:
    """The checkpoint folder for a run folder or a checkpoint folder itself."""
    p = Path(path)
    for candidate in (p, p / CHECKPOINT_DIR, p / PREVIOUS_DIR):
        if (candidate / STATE_JSON).is_file():
            return candidate
    if not p.exists():
        raise CheckpointError(f"{p}: no such folder")
    raise CheckpointError(f"{p}: no training checkpoint here (no {STATE_JSON})")


def read_checkpoint_state(path: str | os.PathLike, verify: bool = True) -> dict[str, Any]:
    """``trainer.json`` of a checkpoint, with every listed file's sha256 checked."""
    folder = find_checkpoint(path)
    try:
        state = json.loads((folder / STATE_JSON).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{folder / STATE_JSON}: damaged ({exc})") from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{folder / STATE_JSON}: not a Transformer Explorer checkpoint")
    if verify:
        for name, digest in state.get("files", {}).items():
            file = folder / name
            if not file.is_file():
                raise CheckpointError(f"{file}: missing from the checkpoint")
            if _sha256(file) != digest:
                raise CheckpointError(
                    f"{file}: the file is damaged (its checksum does not match); "
                    "the checkpoint cannot be used"
                )
    state["folder"] = str(folder)
    return state


def _restore_optimizer(trainer: Trainer, tensors: dict[str, torch.Tensor], meta: dict) -> None:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith("optimizer."):
            _, index, key = name.split(".", 2)
            state.setdefault(int(index), {})[key] = value
    for name, value in meta.get("scalars", {}).items():
        _, index, key = name.split(".", 2)
        state.setdefault(int(index), {})[key] = value
    groups = meta["param_groups"]
    for group in groups:
        if "betas" in group:
            group["betas"] = tuple(group["betas"])
    trainer.optimizer.load_state_dict({"state": state, "param_groups": groups})


def restore_trainer_state(trainer: Trainer, folder: str | os.PathLike) -> Trainer:
    """Put a checkpoint's step, optimiser, RNG and history into a freshly built trainer."""
    state = read_checkpoint_state(folder)
    path = Path(state["folder"]) / STATE_TENSORS
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"{path}: cannot read ({exc})") from exc
    try:
        _restore_optimizer(trainer, tensors, state["optimizer"])
        torch.set_rng_state(tensors["rng.torch"])
        trainer.batch_gen.set_state(tensors["rng.batch"])
        trainer.mask_gen.set_state(tensors["rng.mask"])
        if "rng.cuda" in tensors and trainer.device.type == "cuda":
            torch.cuda.set_rng_state(tensors["rng.cuda"], trainer.device)
        h = trainer.history
        h.step = tensors["history.step"].tolist()
        h.loss = tensors["history.loss"].tolist()
        h.lr = tensors["history.lr"].tolist()
        h.grad_norm = tensors["history.grad_norm"].tolist()
        h.val_step = tensors["history.val_step"].tolist()
        h.val_loss = tensors["history.val_loss"].tolist()
    except (KeyError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: the training state does not fit ({exc})") from exc
    trainer.step = int(state["step"])
    trainer.tokens = int(state.get("tokens", 0))
    trainer.elapsed_s = float(state.get("elapsed_s", 0.0))
    return trainer


def load_checkpoint_model(path: str | os.PathLike, device: str = "cpu") -> torch.nn.Module:
    """Only the model of a checkpoint (for the inspector); files are verified first."""
    from explorer.core.budget import check_model_fits

    state = read_checkpoint_state(path)
    try:
        check_model_fits(read_config(state["folder"]))  # before a tensor is allocated
    except ValueError as exc:
        raise CheckpointError(str(exc)) from exc
    return load_model(state["folder"], device=device)
