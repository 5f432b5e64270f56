"""``transformer-explorer train``: Algorithms 11-13 and classification, headless.

Writes ``OUT/metrics.jsonl`` (one JSON object per step) and ``OUT/checkpoint/``
(safetensors + JSON; ``--resume OUT`` continues exactly). Ctrl+C, SIGTERM and SIGHUP
stop at once (a running step is abandoned), save once and unlock. Exit codes: 0 done,
1 failure (message on stderr), 128 + the signal's number when stopped by a signal
(130 Ctrl+C, 143 SIGTERM, 129 SIGHUP).

Under torchrun (``torchrun --nproc-per-node N -m explorer train …`` or ``--nproc N``,
``explorer.commands.train_launch``) every process runs this command as one rank
(``explorer.train.distributed``): rank 0 alone writes, a signal stops all ranks together
at the end of a step (rank 0 saves once, the others wait at a barrier), and a rank that
fails ends the run with the last checkpoint kept.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import torch

from explorer.commands import train_launch as launch
from explorer.commands import train_together
from explorer.train import (
    TASKS,
    CheckpointError,
    OutOfMemory,
    RunLock,
    RunLocked,
    TrainControl,
    Trainer,
    TrainingDiverged,
    find_checkpoint,
    sample_text,
)
from explorer.train.checkpoint import METRICS_FILE, remove_stale_temporaries, truncate_metrics
from explorer.train.control import StopRequested
from explorer.train.devices import DEVICE_CHOICES, PRECISIONS, precision_label, resolve_device
from explorer.train.distributed import SINGLE, DistContext, is_peer_failure
from explorer.train.keep import after_divergence, save_run
from explorer.train.options import plan_run, resume_run
from explorer.train.presets import preset_names
from explorer.train.progress import MetricsLog, format_duration, format_rate, progress_line
from explorer.train.runlock import LOCK_FILE, OWNER_FILE
from explorer.train.together import PRESET as COMPARE_PRESET

HELP = "Train a model headless (Algorithms 11-13 and classification)."


def full_batch_note(trainer: Trainer) -> str:
    """The note " (full batch: ...)" when a batch of examples takes the whole training set
    (``TrainingData.draw_indices``); "" otherwise."""
    data = trainer.data
    if data.task in ("next-token", "masked") or trainer.global_batch < data.n_train:
        return ""
    return f" (full batch: each of the {data.n_train:,} training examples once a step)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    p = parser
    p.add_argument("--preset", help=f"start from a named preset ({', '.join(preset_names())}"
                   f"; {COMPARE_PRESET}: the bundled decoder, encoder and encoder-decoder "
                   "together, into OUT/<arch>)")
    p.add_argument("--task", choices=TASKS, help="next-token (Alg 13), masked (Alg 12), "
                   "seq2seq (Alg 11), classify (-log P(c|x)) or last-token (the loss on each "
                   "line's last token only: a b = c); default next-token")
    p.add_argument("--arch", choices=("decoder", "encoder", "encoder-decoder"),
                   help="must match the task; by default the task's architecture")
    p.add_argument("--data", help="a UTF-8 text file (seq2seq: context<TAB>target lines; "
                   "classify: label<TAB>text lines) or a bundled data set name")
    p.add_argument("--out", help="run folder for the checkpoint and metrics.jsonl")
    p.add_argument("--resume", metavar="DIR", help="continue the run saved in DIR")
    p.add_argument("--steps", type=int, help="total optimisation steps (default 1000)")
    p.add_argument("--batch-size", type=int, help="sequences per step, per rank and "
                   "micro-step (default 32)")
    p.add_argument("--grad-accum", type=int, help="gradient accumulation: micro-steps per "
                   "step (default 1); global batch = batch size × ranks × this")
    p.add_argument("--lr", type=float, help="peak learning rate (default 1e-3)")
    p.add_argument("--warmup", type=int, help="warmup steps (default min(100, steps/10))")
    p.add_argument("--weight-decay", type=float, help="AdamW weight decay (default 0.01)")
    p.add_argument("--grad-clip", type=float, help="gradient norm clip (default 1.0)")
    p.add_argument("--p-mask", type=float, help="masking probability, task masked (0.15)")
    p.add_argument("--val-every", type=int, help="validation every N steps (default 100)")
    p.add_argument("--val-fraction", type=float, help="share of data for validation (0.1)")
    p.add_argument("--log-every", type=int, help="report every N steps (1 on CPU, 10 on GPU)")
    p.add_argument("--save-every", type=int, help="checkpoint every N steps (0: at the end)")
    p.add_argument("--snapshot-every", type=int, metavar="N",
                   help="keep the weights every N steps (and at step 0) in OUT/snapshots, "
                   "weights only, for the window's time-lapse (default 0: none)")
    p.add_argument("--seed", type=int, help="random seed (default 0)")
    p.add_argument("--device", choices=DEVICE_CHOICES, help="auto (cuda > mps > cpu) or one")
    p.add_argument("--precision", choices=PRECISIONS,
                   help="fp32, bf16 (bfloat16 autocast, fp32 weights and loss) or auto: bf16 "
                   "where the device has it natively and it pays (default auto)")
    p.add_argument("--no-bf16", dest="bf16", action="store_false", default=None,
                   help="no bfloat16 autocast (the same as --precision fp32)")
    p.add_argument("--no-tf32", dest="tf32", action="store_false", default=None,
                   help="no TF32 matrix products on CUDA")
    p.add_argument("--tokenizer", help="char, word, bpe, wordpiece or unigram (default char)")
    p.add_argument("--vocab-size", type=int, help="tokenizer vocabulary size (subword kinds)")
    p.add_argument("--d-e", type=int, help="embedding size d_e (default 64)")
    p.add_argument("--n-heads", type=int, help="attention heads H (default 4)")
    p.add_argument("--n-layers", type=int, help="layers L (default 2)")
    p.add_argument("--l-max", type=int, help="context length l_max (default 64)")
    p.add_argument("--d-mlp", type=int, help="MLP width d_mlp (default 4 d_e)")
    p.add_argument("--norm", choices=("layer", "rms"), help="layer norm or RMSnorm")
    p.add_argument("--positions", choices=("learned", "sinusoidal", "none", "rotary"),
                   help="W_p learned or sinusoidal (the paper), none, or rotary (an "
                   "extension: Su et al. 2021)")
    p.add_argument("--activation", choices=("gelu", "gelu_tanh", "relu", "silu", "swiglu"),
                   help="MLP activation (swiglu: the gated SiLU MLP, an extension)")
    p.add_argument("--n-kv-heads", type=int, help="key/value heads, dividing H (fewer than "
                   "H: grouped-query attention, an extension)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("--threads", type=int, help="CPU threads per process (default: torch's "
                   "choice; under torchrun: cores ÷ local processes)")
    launch.add_arguments(p)


def _build(args: argparse.Namespace, control: TrainControl, ctx: DistContext = SINGLE
           ) -> tuple[Trainer, Path, int, list[str]]:
    """(trainer, run folder, save interval, what a resume changed), through the one
    builder of runs (``explorer.train.options``)."""
    given = vars(args)
    if args.resume:
        out = Path(args.out or args.resume)
        trainer, changes = resume_run(args.resume, given, control, ctx.world_size)
        return trainer, out, plan_run(None, given).save_every, changes
    plan = plan_run(args.preset, given)
    if not plan.data:
        raise ValueError("--data is required: a text file or a bundled data set name")
    if not args.out:
        raise ValueError("--out DIR is required: the folder for the checkpoint and metrics")
    out = Path(args.out)
    try:
        find_checkpoint(out)
    except CheckpointError:
        pass
    else:
        raise ValueError(f"{out} already holds a checkpoint: continue it with --resume {out} "
                         "or choose another --out folder")
    return plan.new_trainer(control), out, plan.save_every, []


def _say(quiet: bool, text: str) -> None:
    if not quiet:
        print(text, file=sys.stderr, flush=True)


def _tell(text: str) -> None:
    try:  # after SIGHUP the terminal may be gone: the run is saved all the same
        print(text, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                     if hasattr(signal, name))


class _Stopper:
    """Ctrl+C, SIGTERM and SIGHUP: the first stops the run (it then saves once); a second
    one before the save began interrupts outright; during the save they are ignored."""

    def __init__(self, control: TrainControl) -> None:
        self.control = control
        self.signum: int | None = None
        self.saving = False
        self.patient = False  # several ranks: never interrupt (they stop together)
        self.quiet = False  # ranks other than 0 say nothing

    def __call__(self, signum: int, frame: object) -> None:
        if self.signum is None:
            self.signum = signum
            self.control.stop()
            if self.quiet:
                return
            how = ("at the end of this step (all ranks together)" if self.patient
                   else "now")
            more = "" if self.patient else " (once more to quit without saving)"
            _tell(f"\n{signal.Signals(signum).name}: stopping {how} and saving the run{more}…")
        elif self.saving or self.patient:
            if not self.quiet:
                _tell("\nstopping and saving the checkpoint; it takes a moment…")
        else:
            raise KeyboardInterrupt

    @property
    def exit_code(self) -> int:
        return 128 + (self.signum or signal.SIGINT)


@contextlib.contextmanager
def _stop_on_signals(stopper: _Stopper) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, stopper) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _train(trainer: Trainer, out: Path, save_every: int, quiet: bool,
           control: TrainControl) -> None:
    writer = trainer.dist.is_writer  # rank 0 alone writes metrics and checkpoints
    tty = sys.stderr.isatty() and not quiet
    log = MetricsLog(out / METRICS_FILE) if writer else None
    last_val, last_draw = None, 0.0
    failed_save = False
    snapshot_note = ""
    try:
        for r in trainer.steps(control, save_every=save_every):
            try:
                if log is not None:
                    log.write(r)
            except OSError as exc:
                if not failed_save:
                    _say(quiet, f"\nwarning: cannot write {log.path} ({exc.strerror or exc}); "
                         "training continues")
                failed_save = True
            last_val = r.val_loss if r.val_loss is not None else last_val
            now = time.monotonic()
            if tty and (now - last_draw > 0.1 or r.step == trainer.config.steps):
                sys.stderr.write("\r" + progress_line(r, trainer.config.steps, last_val))
                sys.stderr.flush()
                last_draw = now
            elif not tty and r.val_loss is not None:
                _say(quiet, progress_line(r, trainer.config.steps, last_val))
            if trainer.snapshot_note and trainer.snapshot_note != snapshot_note:
                snapshot_note = trainer.snapshot_note
                _say(quiet, f"\nwarning: {snapshot_note}; training continues")
            if save_every and r.step % save_every == 0 and not trainer.done:
                if writer:
                    saved = save_run(trainer, out, roots=[])
                    if not saved.ok and not failed_save:
                        _say(quiet, f"\nwarning: {saved.message.split(', nor')[0]}; "
                             "training continues and the run is saved at the end")
                        failed_save = True
                trainer.dist.barrier()  # no rank goes on before the checkpoint is written
    finally:
        try:
            if log is not None:
                log.close()
        except OSError:
            pass
        if tty:
            sys.stderr.write("\n")


def _remove_if_unused(folder: Path, created: bool) -> None:
    """Remove a run folder this command created when nothing was saved into it."""
    if not created or not folder.is_dir():
        return
    if {p.name for p in folder.iterdir()} - {LOCK_FILE, OWNER_FILE}:
        return
    try:
        with RunLock(folder):
            (folder / LOCK_FILE).unlink(missing_ok=True)
        (folder / OWNER_FILE).unlink(missing_ok=True)
        folder.rmdir()
    except (OSError, RunLocked):
        pass


def run(args: argparse.Namespace) -> int:
    try:
        ctx = DistContext.from_env()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.preset == COMPARE_PRESET and (launch.wanted(args) or ctx.world_size > 1):
        print(f"error: --preset {COMPARE_PRESET} trains the three in one process, one step "
              "of each in turn; leave out --nproc/--nnodes and torchrun", file=sys.stderr)
        return 2
    if launch.wanted(args):
        if ctx.world_size > 1:
            print("error: --nproc/--nnodes start torchrun; this already runs under it "
                  "(leave them out)", file=sys.stderr)
            return 1
        return launch.launch(args, add_arguments)
    control = TrainControl()
    stopper = _Stopper(control)
    stopper.patient = ctx.world_size > 1  # ranks stop together: a second signal waits
    stopper.quiet = not ctx.is_writer
    with _stop_on_signals(stopper):
        if args.preset == COMPARE_PRESET:
            return train_together.run(args, control, stopper)
        try:
            return _run(args, control, stopper, ctx)
        finally:
            ctx.stop()


def _start(args: argparse.Namespace, ctx: DistContext) -> None:
    """Threads and the process group of this rank (a plain process: threads only when
    asked for). ``args.device`` becomes this rank's device (its own GPU under CUDA)."""
    if ctx.world_size == 1:
        if args.threads is not None:
            n, _ = ctx.threads(args.threads)
            torch.set_num_threads(n)
        return
    args.device = ctx.device(args.device)
    n, why = ctx.threads(args.threads)
    torch.set_num_threads(n)
    device = resolve_device(args.device)
    ctx.start(device)
    _say(args.quiet or not ctx.is_writer,
         f"distributed: {ctx.world_size} ranks ({ctx.local_world_size} on this node), "
         f"backend {ctx.backend}; {n} CPU thread(s) per rank ({why})")


def _run(args: argparse.Namespace, control: TrainControl, stopper: _Stopper,
         ctx: DistContext = SINGLE) -> int:
    trainer = None
    writer = ctx.is_writer
    who = "" if writer else f"rank {ctx.rank}: "
    out = Path(args.out or args.resume or ".")
    created = writer and bool(args.out or args.resume) and not out.exists()
    lock = None
    args.quiet = args.quiet or not writer  # the other ranks only report errors
    try:
        if args.resume:
            find_checkpoint(args.resume)  # a clear error before anything is created
        if writer and (args.out or args.resume):  # one writer per run folder
            lock = RunLock(out).acquire()
            remove_stale_temporaries(out)
        _start(args, ctx)
        trainer, out, save_every, changes = _build(args, control, ctx)
        trainer.distribute(ctx)
        if args.resume and writer:
            _say(args.quiet, f"resumed {args.resume} at step {trainer.step}")
            if truncate_metrics(out, trainer.step):
                _say(args.quiet, f"{out / METRICS_FILE}: the steps after {trainer.step} "
                                 "(not in the checkpoint) were removed; they are trained again")
            if changes:
                _say(args.quiet, f"changed for the rest of the run: {', '.join(changes)}")
        trainer.snapshot_dir = out  # used when trainer.config.snapshot_every > 0
        _say(args.quiet, f"{trainer.data.describe()}")
        _say(args.quiet, f"model: {trainer.model.cfg.algorithm_name} "
             f"({trainer.model.num_parameters():,} parameters) on {trainer.device_label}")
        label = precision_label(trainer.precision, trainer.device, trainer.config.tf32)
        _say(args.quiet, f"precision: {label} ({trainer.precision_note})")
        if trainer.info.get("warning"):
            _say(args.quiet, f"warning: {trainer.info['warning']}")
        cfg = trainer.config
        _say(args.quiet, f"batch: {cfg.batch_size} per rank × {ctx.world_size} rank(s) × "
             f"{cfg.grad_accum} accumulation step(s) = global batch {trainer.global_batch}"
             + full_batch_note(trainer))
        _train(trainer, out, save_every, args.quiet, control)
        stopped = control.stopped and not trainer.done
        if not writer:
            ctx.barrier()  # wait for rank 0's checkpoint (rank 0 then meets us here)
            return stopper.exit_code if stopped else 0
        code = _finish(args, trainer, out, stopped, stopper)
        ctx.barrier()
        return code
    except StopRequested:
        print(f"{who}stopped before the first step: nothing to save", file=sys.stderr)
        return stopper.exit_code
    except KeyboardInterrupt:
        kept = f"; the checkpoint in {trainer.saved[1]} is kept" if trainer and trainer.saved \
            else ""
        print(f"\n{who}interrupted: quit without saving{kept}", file=sys.stderr)
        return stopper.exit_code
    except OutOfMemory as exc:
        if ctx.active:  # the other ranks cannot go on: the run ends here
            print(f"error: rank {ctx.rank} of {ctx.world_size}: {exc} The run ends"
                  f"{_kept(trainer)}.", file=sys.stderr)
            return 1
        saved = save_run(trainer, out) if trainer is not None and trainer.step else None
        print(f"error: {exc}" + (f" {saved.message}; continue with --resume "
              f"{saved.path.parent} --batch-size N or --device cpu." if saved and saved.ok
              else ""), file=sys.stderr)
        return 1
    except TrainingDiverged as exc:  # (every rank sees the same mean loss: all end here)
        outcome = after_divergence(trainer, out) if trainer is not None and writer else None
        if writer:
            print(f"error: {exc}" + (f" {outcome.message[0].upper()}{outcome.message[1:]}."
                                     if outcome else ""), file=sys.stderr)
        if ctx.active:
            ctx.barrier()  # the others wait for that save
        return 1
    except (RunLocked, CheckpointError, ValueError, OSError) as exc:
        print(f"error: {who}{exc}", file=sys.stderr)
        return 1
    except RuntimeError as exc:
        if not (ctx.active and is_peer_failure(exc)):
            raise
        print(f"error: {who}another rank of the {ctx.world_size} stopped or cannot be "
              f"reached ({_first_line(exc)}); the run ends at step "
              f"{trainer.step if trainer else 0}{_kept(trainer)}", file=sys.stderr)
        return 1
    finally:
        if lock is not None:
            lock.release()
        if writer and (trainer is None or trainer.saved is None):
            _remove_if_unused(out, created)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def _kept(trainer: Trainer | None) -> str:
    if trainer is None or trainer.saved is None:
        return "; no checkpoint was written"
    step, folder = trainer.saved
    return (f"; the checkpoint of step {step} in {folder} is kept: continue with "
            f"--resume {Path(folder).parent}")


def _finish(args: argparse.Namespace, trainer: Trainer, out: Path, stopped: bool,
            stopper: _Stopper) -> int:
    """Rank 0 (or the only process) after the loop: save once and say how it ended."""
    if stopped and trainer.step == (trainer.saved[0] if trainer.saved else 0):
        print(f"stopped at step {trainer.step}: nothing new to save"
              + (f"; the checkpoint in {trainer.saved[1]} is kept: continue with --resume"
                 if trainer.saved else ""), file=sys.stderr)
        return stopper.exit_code
    stopper.saving = True
    saved = save_run(trainer, out)
    if not saved.ok or saved.rescued:
        print(f"error: {saved.message}", file=sys.stderr)
        return stopper.exit_code if stopped else 1
    if stopped:
        print(f"stopped at step {trainer.step}; checkpoint saved to {saved.path}; "
              f"continue with --resume {out}", file=sys.stderr)
        return stopper.exit_code
    h = trainer.history
    val = f", validation loss {h.val_loss[-1]:.4f}" if h.val_loss else ""
    rate = format_rate(trainer.tokens / max(trainer.elapsed_s, 1e-9))
    _say(args.quiet, f"done: step {trainer.step}, loss {h.loss[-1]:.4f}{val}, "
         f"{rate}, {format_duration(trainer.elapsed_s)}; checkpoint in {saved.path}")
    _say(args.quiet, f"sample: {sample_text(trainer)}")
    return 0
