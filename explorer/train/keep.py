"""Never lose a run: save it where it belongs, or somewhere else that can be written.

``save_run(trainer, run_dir)`` saves the checkpoint into ``run_dir``; when that folder
cannot be written (it became read-only, the disk is full, it is gone) the run is saved
into a rescue folder instead and the outcome says where and why. ``after_divergence``
saves the last finite weights of a run whose loss became NaN, and says truthfully what
exists. Both return a ``Saved`` whose ``message`` is one sentence for the user. Qt-free:
the command line and the window use the same calls.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from explorer.train.checkpoint import save_checkpoint
from explorer.train.loop import Trainer
from explorer.train.runlock import RunLocked

RESCUE_FOLDER = "transformer-explorer-rescued"


@dataclass
class Saved:
    """Where a save went: ``path`` (None: nowhere) and a sentence saying so."""

    path: Path | None
    message: str
    rescued: bool = False  # saved somewhere other than the run folder

    @property
    def ok(self) -> bool:
        return self.path is not None


def rescue_roots() -> list[Path]:
    """Where a run goes when its own folder cannot be written: the home folder, then the
    temporary folder (``TRANSFORMER_EXPLORER_RESCUE_DIR`` first when set)."""
    roots = []
    if os.environ.get("TRANSFORMER_EXPLORER_RESCUE_DIR"):
        roots.append(Path(os.environ["TRANSFORMER_EXPLORER_RESCUE_DIR"]))
    roots += [Path.home() / RESCUE_FOLDER, Path(tempfile.gettempdir()) / RESCUE_FOLDER]
    return roots


def _why(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc)


def save_run(trainer: Trainer, run_dir: str | os.PathLike,
             roots: list[Path] | None = None) -> Saved:
    """Save into ``run_dir``, else into a rescue folder; never raises for a folder that
    cannot be written (the run stays in memory whatever happens)."""
    run_dir = Path(run_dir)
    try:
        path = save_checkpoint(trainer, run_dir)
        return Saved(path, f"checkpoint of step {trainer.step} saved to {path}")
    except (OSError, RunLocked) as exc:
        problem = f"cannot save into {run_dir} ({_why(exc)})"
    name = f"{run_dir.resolve().name or 'run'}-step{trainer.step}-{time.strftime('%Y%m%d-%H%M%S')}"
    tried = []
    for root in rescue_roots() if roots is None else roots:
        target = root / name
        try:
            path = save_checkpoint(trainer, target)
        except (OSError, RunLocked) as exc:
            tried.append(f"{target} ({_why(exc)})")
            continue
        return Saved(path, f"{problem}; the run (step {trainer.step}) was saved to {target} "
                           f"instead: continue it with --resume {target}", rescued=True)
    where = "; ".join(tried) or "no other folder"
    return Saved(None, f"{problem}, nor into {where}; the run is only in memory: free some "
                       "space or make a folder writable and save again")


def after_divergence(trainer: Trainer, run_dir: str | os.PathLike,
                     roots: list[Path] | None = None) -> Saved:
    """After ``TrainingDiverged``: save the last finite weights if they are newer than the
    last checkpoint, and say exactly what exists."""
    saved = trainer.saved
    newer = trainer.step > (saved[0] if saved else 0)
    if newer and trainer.weights_finite():
        outcome = save_run(trainer, run_dir, roots)
        if outcome.ok:
            outcome.message = (f"the last finite weights (step {trainer.step}) were saved to "
                               f"{outcome.path}" + (f" ({outcome.message})"
                                                    if outcome.rescued else ""))
        return outcome
    if saved:
        return Saved(Path(saved[1]), f"the checkpoint of step {saved[0]} in {saved[1]} is kept")
    if trainer.step == 0:
        return Saved(None, "no step was completed and no checkpoint exists: nothing was saved")
    return Saved(None, f"the weights were no longer finite numbers and no checkpoint exists: "
                       f"nothing was saved (steps 1-{trainer.step} are lost)")
