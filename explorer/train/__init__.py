"""Algorithms 11-13 and classification as a generator of step results; checkpoints.

Qt-free: the command line (``transformer-explorer train``) and the window's Train
panel drive the same code::

    trainer = new_trainer("corpus.txt", TrainConfig(task="next-token", steps=500),
                          tokenizer="char", d_e=64, n_heads=4, n_layers=2, l_max=64)
    control = TrainControl()          # pause() / resume() / stop() from any thread
    for result in trainer.steps(control):   # stop() abandons a running step at once
        print(result.step, result.loss, result.val_loss)
    print(save_run(trainer, "runs/demo").message)   # else into a rescue folder
    trainer = resume_trainer("runs/demo")   # continues exactly
"""

from explorer.train.checkpoint import (
    CheckpointError,
    RunLock,
    RunLocked,
    find_checkpoint,
    load_checkpoint_model,
    read_checkpoint_state,
    save_checkpoint,
)
from explorer.train.control import StopRequested, TrainControl
from explorer.train.datasets import TrainingData
from explorer.train.devices import available_devices, describe_device, resolve_device
from explorer.train.divergence import TrainingDiverged
from explorer.train.keep import Saved, after_divergence, save_run
from explorer.train.loop import (
    History,
    OutOfMemory,
    StepResult,
    TrainConfig,
    Trainer,
    learning_rate,
)
from explorer.train.objectives import (
    TASK_ARCH,
    TASKS,
    Batch,
    batch_loss,
    classification_loss,
    mask_tokens,
    masked_token_loss,
    next_token_loss,
    seq2seq_loss,
)
from explorer.train.options import RunPlan, build_train_config, plan_run, resume_run
from explorer.train.presets import PRESETS, get_preset, register_preset, resolve_options
from explorer.train.runs import new_trainer, resume_trainer
from explorer.train.samples import Snapshot, sample_text, take_snapshot
from explorer.train.sources import DataSource, bundled_names, load_source

__all__ = [
    "PRESETS",
    "TASKS",
    "TASK_ARCH",
    "Batch",
    "CheckpointError",
    "DataSource",
    "History",
    "OutOfMemory",
    "RunLock",
    "RunLocked",
    "RunPlan",
    "Saved",
    "StepResult",
    "StopRequested",
    "TrainConfig",
    "TrainControl",
    "Trainer",
    "TrainingData",
    "TrainingDiverged",
    "after_divergence",
    "available_devices",
    "batch_loss",
    "build_train_config",
    "bundled_names",
    "classification_loss",
    "describe_device",
    "find_checkpoint",
    "get_preset",
    "learning_rate",
    "load_checkpoint_model",
    "load_source",
    "mask_tokens",
    "masked_token_loss",
    "new_trainer",
    "next_token_loss",
    "plan_run",
    "read_checkpoint_state",
    "register_preset",
    "resolve_device",
    "resolve_options",
    "resume_run",
    "resume_trainer",
    "sample_text",
    "save_checkpoint",
    "save_run",
    "seq2seq_loss",
    "Snapshot",
    "take_snapshot",
]
