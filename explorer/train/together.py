"""Train the three architectures together (issue 30 §4): the bundled decoder, encoder and
encoder-decoder, each on its own task, one step of each in turn, in one process. Qt-free:
``transformer-explorer train --preset compare-architectures`` and the window's Side by side
tab use the same ``TrainTogether``.

- decoder: next-token (Algorithm 13) on the bundled ``grammar`` sentences;
- encoder: masked-token (Algorithm 12) on the same ``grammar`` sentences;
- encoder-decoder: sequence-to-sequence (Algorithm 11) on the paired ``translation`` data
  (its English-like sources come from a grammar of the same kind).

Each run is built with the bundled model's own preset (``default-decoder``,
``default-encoder``, ``default-seq2seq``) through ``options.plan_run``, so its model has the
bundled model's configuration and vocabulary (the side-by-side's columns can take its
weights in place), with ``COMPARE`` and the options given on top. Every task's loss is a
mean over the tokens it predicts (``objectives``): the curves are in nats per predicted
token (characters for the decoder and the encoder, words for the encoder-decoder, as their
bundled models' tokenizers are). Each run is an ordinary run folder ``DIR/<arch>``
(checkpoint and metrics.jsonl), openable and resumable on its own, or all three together
with ``TrainTogether.resume``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from explorer.train.checkpoint import (
    METRICS_FILE,
    CheckpointError,
    find_checkpoint,
    truncate_metrics,
)
from explorer.train.control import TrainControl
from explorer.train.keep import Saved, save_run
from explorer.train.loop import StepResult, Trainer
from explorer.train.options import plan_run, resume_run
from explorer.train.progress import MetricsLog

PRESET = "compare-architectures"
# architecture -> the preset its bundled model was trained with (and its task)
RUNS = {"decoder": "default-decoder", "encoder": "default-encoder",
        "encoder-decoder": "default-seq2seq"}
# what each predicts: the bundled models' own tokens (characters; the encoder-decoder's
# words), so a nat per token is not quite the same unit across the three
TASK_NAMES = {"decoder": "next character", "encoder": "masked character",
              "encoder-decoder": "next target word (seq2seq)"}
# what the three share, over their own presets (fewer steps: a lesson, not the bundle)
COMPARE: dict[str, Any] = {"steps": 300, "batch_size": 16, "val_every": 50,
                           "save_every": 100, "log_every": 1}
# options that would make a run another model or another task than the bundled one
FIXED = ("task", "arch", "data", "tokenizer", "vocab_size", "d_e", "n_heads", "n_layers",
         "l_max", "d_mlp", "norm", "norm_placement", "positions", "activation",
         "tie_unembedding", "n_kv_heads", "val_fraction")
LOSS_LABEL = "loss (nats per predicted token)"


def check_options(given: dict[str, Any]) -> None:
    """ValueError naming the options (as ``--flags``) the preset cannot take."""
    fixed = [k for k in FIXED if given.get(k) is not None]
    if fixed:
        flags = ", ".join("--" + k.replace("_", "-") for k in fixed)
        raise ValueError(f"--preset {PRESET} trains each bundled architecture on its own "
                         f"task, data and size; leave out {flags}")


def run_folders(out: str | os.PathLike) -> dict[str, Path]:
    """The run folder of each architecture: ``out/decoder`` and so on."""
    return {arch: Path(out) / arch for arch in RUNS}


class TrainTogether:
    """Three trainers stepped in turn; each writes its own run folder."""

    def __init__(self, trainers: dict[str, Trainer], out: str | os.PathLike,
                 save_every: int = 0) -> None:
        self.trainers = trainers
        self.folders = run_folders(out)
        self.save_every = save_every

    @classmethod
    def new(cls, out: str | os.PathLike, given: dict[str, Any] | None = None,
            control: TrainControl | None = None) -> TrainTogether:
        """Fresh runs of the three (ValueError for an option the preset cannot take or
        a folder that holds a checkpoint already)."""
        given = {k: v for k, v in (given or {}).items() if v is not None}
        check_options(given)
        trainers, save_every = {}, 0
        for arch, folder in run_folders(out).items():
            try:
                find_checkpoint(folder)
            except CheckpointError:
                pass
            else:
                raise ValueError(f"{folder} already holds a checkpoint: continue the three "
                                 f"with --preset {PRESET} --resume {out}, or choose another "
                                 "--out folder")
            plan = plan_run(RUNS[arch], {**COMPARE, **given})
            save_every = plan.save_every
            trainers[arch] = plan.new_trainer(control)
        return cls(trainers, out, save_every)

    @classmethod
    def resume(cls, out: str | os.PathLike, given: dict[str, Any] | None = None,
               control: TrainControl | None = None) -> TrainTogether:
        """The three runs saved in ``out`` (each from its own checkpoint), with the options
        a resumed run can take applied (``options.resume_run``)."""
        given = {k: v for k, v in (given or {}).items() if v is not None}
        check_options(given)
        trainers = {arch: resume_run(folder, given, control)[0]
                    for arch, folder in run_folders(out).items()}
        save_every = given.get("save_every", COMPARE["save_every"])
        return cls(trainers, out, save_every)

    @property
    def done(self) -> bool:
        return all(t.done for t in self.trainers.values())

    def steps(self, control: TrainControl | None = None) -> Iterator[tuple[str, StepResult]]:
        """One logged step of each run in turn, as (architecture, result), until all are
        done or ``control`` stops them; every ``save_every`` steps a run is saved. Each
        result is written to its folder's metrics.jsonl."""
        logs = {}
        for arch, trainer in self.trainers.items():
            self.folders[arch].mkdir(parents=True, exist_ok=True)
            trainer.snapshot_dir = self.folders[arch]
            truncate_metrics(self.folders[arch], trainer.step)
            logs[arch] = MetricsLog(self.folders[arch] / METRICS_FILE)
        running = {arch: t.steps(control) for arch, t in self.trainers.items() if not t.done}
        try:
            while running and not (control is not None and control.stopped):
                for arch in list(running):
                    result = next(running[arch], None)
                    if result is None:
                        del running[arch]
                        continue
                    logs[arch].write(result)
                    trainer = self.trainers[arch]
                    if self.save_every and result.step % self.save_every == 0 \
                            and not trainer.done:
                        save_run(trainer, self.folders[arch], roots=[])
                    yield arch, result
        finally:
            for generator in running.values():
                generator.close()
            for log in logs.values():
                log.close()

    def save(self) -> dict[str, Saved]:
        """Save each run that has steps its folder lacks (``keep.save_run``)."""
        saved = {}
        for arch, trainer in self.trainers.items():
            if trainer.step and (trainer.saved is None or trainer.saved[0] != trainer.step):
                saved[arch] = save_run(trainer, self.folders[arch])
        return saved
