"""``transformer-explorer train --preset compare-architectures --out DIR``: the bundled
decoder, encoder and encoder-decoder trained together, one step of each in turn
(``explorer.train.together``), into DIR/decoder, DIR/encoder and DIR/encoder-decoder.
``--resume DIR`` continues the three. A stop (Ctrl+C, SIGTERM) saves each run once."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from explorer.train import RunLock, RunLocked, TrainControl, TrainingDiverged
from explorer.train.checkpoint import CheckpointError, remove_stale_temporaries
from explorer.train.control import StopRequested
from explorer.train.together import LOSS_LABEL, TASK_NAMES, TrainTogether, run_folders


def run(args: argparse.Namespace, control: TrainControl, stopper) -> int:
    """Train the three (``stopper``: the train command's signal handler; its
    ``exit_code`` after a signal)."""
    if args.out and args.resume:
        print("error: give --out DIR for new runs or --resume DIR to continue them, not both",
              file=sys.stderr)
        return 2
    out = args.out or args.resume
    if not out:
        print("error: --out DIR is required: the folder for the three run folders",
              file=sys.stderr)
        return 2
    given = {k: v for k, v in vars(args).items() if k not in ("preset", "out", "resume")}
    locks = []
    together = None
    try:
        for folder in run_folders(out).values():
            locks.append(RunLock(folder).acquire())
            remove_stale_temporaries(folder)
        together = (TrainTogether.resume if args.resume else TrainTogether.new)(
            out, given, control)
        _say(args.quiet, f"{LOSS_LABEL}, one step of each in turn:")
        for arch, trainer in together.trainers.items():
            _say(args.quiet, f"  {arch}: {TASK_NAMES[arch]} on {trainer.data.describe()}, "
                 f"{trainer.model.num_parameters():,} parameters, from step {trainer.step}")
        last: dict[str, float] = {}
        for arch, result in together.steps(control):
            last[arch] = result.loss
            if result.val_loss is not None or together.trainers[arch].done:
                _say(args.quiet, f"{arch} step {result.step}: loss {result.loss:.4f}"
                     + (f", validation {result.val_loss:.4f}" if result.val_loss else ""))
        stopped = control.stopped and not together.done
        stopper.saving = True
        for arch, saved in together.save().items():
            if not saved.ok or saved.rescued:
                print(f"error: {arch}: {saved.message}", file=sys.stderr)
        steps = ", ".join(f"{a} step {t.step}" for a, t in together.trainers.items())
        if stopped:
            print(f"stopped at {steps}; each saved: continue with --preset "
                  f"compare-architectures --resume {out}", file=sys.stderr)
            return stopper.exit_code
        _say(args.quiet, f"done: {steps}; losses "
             + ", ".join(f"{a} {v:.4f}" for a, v in last.items())
             + f"; run folders in {Path(out)}")
        return 0
    except StopRequested:
        print("stopped before the first step: nothing to save", file=sys.stderr)
        return stopper.exit_code
    except KeyboardInterrupt:  # a second Ctrl+C before the saves began
        print("\ninterrupted: quit without saving; the checkpoints already in "
              f"{out} are kept", file=sys.stderr)
        return stopper.exit_code
    except TrainingDiverged as exc:
        if together is not None:
            together.save()
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (RunLocked, CheckpointError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        for lock in locks:
            lock.release()


def _say(quiet: bool, text: str) -> None:
    if not quiet:
        print(text, file=sys.stderr, flush=True)
