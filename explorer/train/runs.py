"""Building a run from choices (data, tokenizer, model size) and resuming one from disk.

The command line and the window both call ``new_trainer`` / ``resume_trainer``; they
differ only in how they show the step results.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import torch

from explorer.core import ModelConfig, build_model, load_model, read_config
from explorer.core.budget import check_model_fits
from explorer.core.finite import describe_nonfinite, nonfinite_tensors
from explorer.train.checkpoint import (
    TOKENIZER_FILE,
    CheckpointError,
    read_checkpoint_state,
    restore_trainer_state,
)
from explorer.train.control import TrainControl
from explorer.train.datasets import TrainingData
from explorer.train.devices import resolve_device
from explorer.train.loop import TrainConfig, Trainer
from explorer.train.objectives import TASK_ARCH
from explorer.train.sources import DataSource, load_source

MODEL_FIELDS = ("d_e", "n_heads", "n_layers", "l_max", "d_mlp", "norm", "norm_placement",
                "positions", "activation", "tie_unembedding", "n_kv_heads")


def make_tokenizer(kind: str, source: DataSource, vocab_size: int | None = None,
                   check: Callable[[], None] | None = None) -> Any:
    """Train a tokenizer of ``kind`` (char, word, bpe, ...) on the run's texts
    (``check()`` is called every few thousand texts: it may raise to stop)."""
    from explorer.tokenize import train_tokenizer

    kwargs = {} if vocab_size is None else {"vocab_size": vocab_size}
    texts = source.texts() if check is None else _checked(source.texts(), check)
    return train_tokenizer(kind, texts, **kwargs)


def _checked(texts: Iterable[str], check: Callable[[], None]) -> Iterator[str]:
    for i, text in enumerate(texts):
        if i % 4096 == 0:
            check()
        yield text


def model_config(task: str, tokenizer: Any, data: TrainingData, **sizes: Any) -> ModelConfig:
    """The architecture the task trains (Algorithm 8, 9 or 10) at the chosen size."""
    arch = sizes.pop("arch", None) or TASK_ARCH[task]
    if arch != TASK_ARCH[task]:
        raise ValueError(
            f"task {task!r} trains an {TASK_ARCH[task]} model, not an {arch} "
            f"(leave out --arch or pick --arch {TASK_ARCH[task]})"
        )
    fields = {k: v for k, v in sizes.items() if k in MODEL_FIELDS and v is not None}
    n_classes = len(data.labels) if task == "classify" else 0
    return ModelConfig(
        arch=arch, vocab_size=int(tokenizer.vocab_size), n_classes=n_classes, **fields
    )


def new_trainer(
    data: str | os.PathLike | DataSource,
    config: TrainConfig,
    tokenizer: str | Any = "char",
    vocab_size: int | None = None,
    val_fraction: float = 0.1,
    control: TrainControl | None = None,
    **sizes: Any,
) -> Trainer:
    """A fresh run: read the data, train the tokenizer, build the model (seeded).

    With ``control``, ``control.stop()`` from another thread (or a signal handler) ends
    the preparation between pieces of work with ``StopRequested``."""
    check = _checker(control)
    check()
    source = data if isinstance(data, DataSource) else load_source(config.task, data)
    check()
    if isinstance(tokenizer, str):
        tok = make_tokenizer(tokenizer, source, vocab_size, check)
    else:
        tok = tokenizer
    check()
    l_max = int(sizes.get("l_max") or 64)
    sizes["l_max"] = l_max
    cfg = model_config(config.task, tok, _LabelsOnly(source), **sizes)
    # before the data is tokenized; gradients and moments live on the training device
    check_model_fits(cfg, training=resolve_device(config.device).type == "cpu")
    prepared = TrainingData(source, tok, l_max, val_fraction, config.seed, check)
    cfg = model_config(config.task, tok, prepared, **sizes)
    check()
    torch.manual_seed(config.seed)
    trainer = Trainer(build_model(cfg), prepared, config, tok)
    trainer.info = {
        "data": source.name,
        "data_digest": source.digest(),
        "tokenizer": tokenizer if isinstance(tokenizer, str) else type(tokenizer).__name__,
        "vocab_size": vocab_size,
        "val_fraction": val_fraction,
        "labels": prepared.labels,
    }
    return trainer


def _checker(control: TrainControl | None) -> Callable[[], None]:
    return control.check if control is not None else (lambda: None)


class _LabelsOnly:
    """What ``model_config`` reads from the data (the class names), before tokenizing."""

    def __init__(self, source: DataSource) -> None:
        found = sorted({label for label, _ in source.labelled})
        self.labels = list(source.label_names) or found


def resume_trainer(
    path: str | os.PathLike,
    device: str | None = None,
    data: str | os.PathLike | None = None,
    steps: int | None = None,
    control: TrainControl | None = None,
) -> Trainer:
    """Rebuild a run from its checkpoint so that it continues exactly where it stopped.

    ``data`` overrides where the data is read from (same content expected), ``steps``
    extends the run, ``device`` moves it.
    """
    state = read_checkpoint_state(path)
    folder = Path(state["folder"])
    info = state.get("info", {})
    config = TrainConfig.from_dict(state["train_config"])
    if device is not None:
        config.device = device
    if steps is not None:
        config.steps = steps
    from explorer.tokenize import load_tokenizer

    try:
        tok = load_tokenizer(str(folder / TOKENIZER_FILE))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{folder / TOKENIZER_FILE}: cannot read ({exc})") from exc
    check = _checker(control)
    check()
    source = load_source(config.task, data or info.get("data", ""))
    check()
    try:
        # before a tensor is allocated; gradients and moments live on the training device
        check_model_fits(read_config(folder),
                         training=resolve_device(config.device).type == "cpu")
        model = load_model(folder)
    except ValueError as exc:
        raise CheckpointError(str(exc)) from exc
    bad = nonfinite_tensors(model)
    if bad:
        raise CheckpointError(f"{folder}: the weights hold NaN or infinite values "
                              f"({describe_nonfinite(bad)}); training cannot continue from them")
    prepared = TrainingData(
        source, tok, model.cfg.l_max, info.get("val_fraction", 0.1), config.seed, check
    )
    trainer = Trainer(model.train(), prepared, config, tok)
    trainer.info = dict(info, data=source.name)
    if info.get("data_digest") and info["data_digest"] != source.digest():
        trainer.info["warning"] = (
            f"the data in {source.name} differs from the data this run was trained on; "
            "the run continues on the new data"
        )
        trainer.info["data_digest"] = source.digest()
    trainer = restore_trainer_state(trainer, folder)
    trainer.saved = (trainer.step, folder)
    return trainer
