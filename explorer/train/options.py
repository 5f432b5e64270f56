"""One way from training options to a run: the command line, a preset, a scene's training
request and the window's Train tab all go through here.

Options are the names of ``presets.DEFAULTS`` (``task``, ``steps``, ``grad_accum``,
``bf16``, ``d_e`` ...). ``plan_run(preset, given)`` merges DEFAULTS < the preset < the
options given (None: not given) and splits them into a ``RunPlan``: the ``TrainConfig``
(``build_train_config``), the model sizes, the data and tokenizer, and ``save_every``.
``plan.new_trainer(control)`` starts the run.

Resuming: a saved run takes the options that change how it goes on (``RESUME_APPLIES``)
and refuses those fixed by its checkpoint (``RESUME_REFUSES``): ``apply_resume_options``;
``keep_global_batch`` keeps the global batch when the number of ranks changed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from explorer.train.control import TrainControl
from explorer.train.devices import resolve_device
from explorer.train.loop import TrainConfig, Trainer
from explorer.train.presets import resolve_options
from explorer.train.runs import new_trainer

# option name -> TrainConfig field, for the options a TrainConfig holds
CONFIG_FIELDS = {
    "task": "task", "steps": "steps", "batch_size": "batch_size", "grad_accum": "grad_accum",
    "lr": "lr", "warmup": "warmup_steps", "weight_decay": "weight_decay",
    "grad_clip": "grad_clip", "p_mask": "p_mask", "val_every": "val_every",
    "log_every": "log_every", "seed": "seed", "device": "device", "bf16": "bf16",
    "tf32": "tf32", "precision": "precision", "snapshot_every": "snapshot_every",
}
# the model's options (``new_trainer``'s sizes)
MODEL_OPTIONS = ("arch", "d_e", "n_heads", "n_layers", "l_max", "d_mlp", "norm",
                 "norm_placement", "positions", "activation", "tie_unembedding", "n_kv_heads")
# the data's and the tokenizer's, and when the command line saves
RUN_OPTIONS = ("data", "tokenizer", "vocab_size", "val_fraction", "save_every")


def default_log_every(device: str) -> int:
    """Every step on the CPU; on a GPU fewer host syncs pay off (every 10th)."""
    return 1 if resolve_device(device).type == "cpu" else 10


def build_train_config(options: dict[str, Any]) -> TrainConfig:
    """The ``TrainConfig`` of resolved options (every ``CONFIG_FIELDS`` name present;
    ``log_every`` None: ``default_log_every``). ValueError for a value it refuses."""
    values = {CONFIG_FIELDS[k]: options[k] for k in CONFIG_FIELDS}
    if values["log_every"] is None:
        values["log_every"] = default_log_every(options["device"])
    return TrainConfig(**values)


@dataclass
class RunPlan:
    """Everything a new run is started from."""

    config: TrainConfig
    data: str | None
    tokenizer: str = "char"
    vocab_size: int | None = None
    val_fraction: float = 0.1
    save_every: int = 0
    sizes: dict[str, Any] = field(default_factory=dict)

    def new_trainer(self, control: TrainControl | None = None) -> Trainer:
        """Read the data, train the tokenizer, build the model (``runs.new_trainer``)."""
        if not self.data:
            raise ValueError("no data: give a text file or a bundled data set name")
        return new_trainer(self.data, self.config, self.tokenizer, self.vocab_size,
                           self.val_fraction, control=control, **self.sizes)


def plan_run(preset: str | None, given: dict[str, Any]) -> RunPlan:
    """DEFAULTS < preset ``preset`` < ``given`` (keys that are not options are ignored),
    as a ``RunPlan``. ValueError for an unknown preset or a value the config refuses."""
    o = resolve_options(preset, given)
    return RunPlan(config=build_train_config(o), data=o["data"], tokenizer=o["tokenizer"],
                   vocab_size=o["vocab_size"], val_fraction=o["val_fraction"],
                   save_every=o["save_every"], sizes={k: o[k] for k in MODEL_OPTIONS})


# -- resuming ---------------------------------------------------------------------------
# Options a resumed run takes (they change how it continues) and options it refuses
# (the model, the tokenizer and the data split are fixed by the checkpoint). The device
# is applied while the run is rebuilt (``resume_trainer(device=...)``).
RESUME_APPLIES = {
    "steps": "steps", "batch_size": "batch size", "grad_accum": "accumulation steps",
    "lr": "learning rate", "warmup": "warmup",
    "weight_decay": "weight decay", "grad_clip": "gradient clip", "p_mask": "p_mask",
    "val_every": "validation interval", "log_every": "log interval", "bf16": "bf16",
    "tf32": "tf32", "snapshot_every": "snapshot interval",
}
RESUME_REFUSES = ("preset", "task", "arch", "tokenizer", "vocab_size", "d_e", "n_heads",
                  "n_layers", "l_max", "d_mlp", "seed", "val_fraction")


def apply_resume_options(trainer: Trainer, given: dict[str, Any]) -> list[str]:
    """Apply the options ``given`` (None: not given) that a saved run can take; returns
    what changed ("learning rate 0.001 -> 0.01"). ValueError naming the options it cannot
    take (as ``--flags``) or a value the config refuses."""
    refused = [k for k in RESUME_REFUSES if given.get(k) is not None]
    if refused:
        flags = ", ".join("--" + k.replace("_", "-") for k in refused)
        raise ValueError(f"{flags} cannot change when a run is resumed (the model, its "
                         "tokenizer and the data split are fixed by the checkpoint); leave "
                         f"{'it' if len(refused) == 1 else 'them'} out, or start a new run")
    changes = []
    cfg = trainer.config
    for key, label in RESUME_APPLIES.items():
        value = given.get(key)
        name = CONFIG_FIELDS[key]
        if value is None or getattr(cfg, name) == value:
            continue
        changes.append(f"{label} {getattr(cfg, name)} -> {value}")
        setattr(cfg, name, value)
    TrainConfig.__post_init__(cfg)  # the same checks as a new run's (raises ValueError)
    if given.get("weight_decay") is not None:
        trainer.optimizer.param_groups[0]["weight_decay"] = cfg.weight_decay
    if given.get("precision") is not None and given["precision"] != trainer.precision:
        before = trainer.precision
        chosen = trainer.set_precision(given["precision"])
        changes.append(f"precision {before} -> {chosen}")
    return changes


def keep_global_batch(trainer: Trainer, given: dict[str, Any], world_size: int,
                      state: dict[str, Any]) -> list[str]:
    """A run resumed with another number of ranks keeps its global batch (so it goes on
    drawing the same examples) when the per-rank batch can be chosen to: returns what
    changed. ``batch_size`` or ``grad_accum`` given: they are taken as they are."""
    saved_ranks, saved_global = state.get("ranks", 1), state.get("global_batch")
    if saved_ranks == world_size or not saved_global:
        return []
    cfg = trainer.config
    if given.get("batch_size") is None and given.get("grad_accum") is None:
        per_rank, rest = divmod(int(saved_global), world_size * cfg.grad_accum)
        if per_rank >= 1 and rest == 0 and per_rank != cfg.batch_size:
            before, cfg.batch_size = cfg.batch_size, per_rank
            return [f"batch size {before} -> {per_rank} per rank, so that the global batch "
                    f"stays {saved_global} on {world_size} rank(s) instead of {saved_ranks}"]
    now = cfg.batch_size * world_size * cfg.grad_accum
    if now == saved_global:
        return []
    return [f"global batch {saved_global} -> {now} ({world_size} rank(s) instead of "
            f"{saved_ranks})"]


def resume_run(path: str | os.PathLike, given: dict[str, Any],
               control: TrainControl | None = None, world_size: int = 1,
               ) -> tuple[Trainer, list[str]]:
    """The run saved in ``path`` rebuilt (``given``'s ``device`` and ``data`` too) with
    the options it can take applied: (trainer, what changed)."""
    from explorer.train.checkpoint import read_checkpoint_state
    from explorer.train.runs import resume_trainer

    state = read_checkpoint_state(path, verify=False)
    trainer = resume_trainer(path, device=given.get("device"), data=given.get("data"),
                             control=control)
    changes = apply_resume_options(trainer, given)
    changes += keep_global_batch(trainer, given, world_size, state)
    return trainer, changes
