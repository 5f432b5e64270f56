"""``transformer-explorer train``: Algorithms 11-13 and classification, headless.

Writes ``OUT/metrics.jsonl`` (one JSON object per step) and ``OUT/checkpoint/``
(safetensors + JSON; ``--resume OUT`` continues exactly). Ctrl+C stops cleanly and
saves. Exit codes: 0 done, 1 failure (message on stderr), 130 interrupted (saved).
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
from typing import Any

from explorer.train import (
    TASKS,
    CheckpointError,
    OutOfMemory,
    RunLock,
    RunLocked,
    TrainConfig,
    TrainControl,
    Trainer,
    TrainingDiverged,
    find_checkpoint,
    new_trainer,
    resolve_options,
    resume_trainer,
    sample_text,
    save_checkpoint,
)
from explorer.train.checkpoint import METRICS_FILE
from explorer.train.devices import DEVICE_CHOICES, PRECISIONS, precision_label, resolve_device
from explorer.train.presets import preset_names
from explorer.train.progress import MetricsLog, format_duration, format_rate, progress_line

HELP = "Train a model headless (Algorithms 11-13 and classification)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    p = parser
    p.add_argument("--preset", help=f"start from a named preset ({', '.join(preset_names())})")
    p.add_argument("--task", choices=TASKS, help="next-token (Alg 13), masked (Alg 12), "
                   "seq2seq (Alg 11) or classify (-log P(c|x)); default next-token")
    p.add_argument("--arch", choices=("decoder", "encoder", "encoder-decoder"),
                   help="must match the task; by default the task's architecture")
    p.add_argument("--data", help="a UTF-8 text file (seq2seq: context<TAB>target lines; "
                   "classify: label<TAB>text lines) or a bundled data set name")
    p.add_argument("--out", help="run folder for the checkpoint and metrics.jsonl")
    p.add_argument("--resume", metavar="DIR", help="continue the run saved in DIR")
    p.add_argument("--steps", type=int, help="total optimisation steps (default 1000)")
    p.add_argument("--batch-size", type=int, help="sequences per step (default 32)")
    p.add_argument("--lr", type=float, help="peak learning rate (default 1e-3)")
    p.add_argument("--warmup", type=int, help="warmup steps (default min(100, steps/10))")
    p.add_argument("--weight-decay", type=float, help="AdamW weight decay (default 0.01)")
    p.add_argument("--grad-clip", type=float, help="gradient norm clip (default 1.0)")
    p.add_argument("--p-mask", type=float, help="masking probability, task masked (0.15)")
    p.add_argument("--val-every", type=int, help="validation every N steps (default 100)")
    p.add_argument("--val-fraction", type=float, help="share of data for validation (0.1)")
    p.add_argument("--log-every", type=int, help="report every N steps (1 on CPU, 10 on GPU)")
    p.add_argument("--save-every", type=int, help="checkpoint every N steps (0: at the end)")
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
    p.add_argument("--quiet", action="store_true", help="no progress output")


def _config(o: dict[str, Any]) -> TrainConfig:
    log_every = o["log_every"]
    if log_every is None:  # every step on the CPU; on a GPU fewer syncs pay off
        log_every = 1 if resolve_device(o["device"]).type == "cpu" else 10
    return TrainConfig(
        task=o["task"], steps=o["steps"], batch_size=o["batch_size"], lr=o["lr"],
        warmup_steps=o["warmup"], weight_decay=o["weight_decay"], grad_clip=o["grad_clip"],
        p_mask=o["p_mask"], val_every=o["val_every"], log_every=log_every,
        seed=o["seed"], device=o["device"], bf16=o["bf16"], tf32=o["tf32"],
        precision=o["precision"],
    )


def _build(args: argparse.Namespace) -> tuple[Trainer, Path, dict[str, Any]]:
    options = resolve_options(args.preset, vars(args))
    if args.resume:
        out = Path(args.out or args.resume)
        trainer = resume_trainer(args.resume, device=args.device, data=args.data,
                                 steps=args.steps)
        if args.batch_size:
            trainer.config.batch_size = args.batch_size
        if args.precision:
            trainer.set_precision(args.precision)
        return trainer, out, options
    if not options["data"]:
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
    sizes = {k: options.get(k) for k in ("arch", "d_e", "n_heads", "n_layers", "l_max", "d_mlp",
                                         "norm", "norm_placement", "positions", "activation",
                                         "tie_unembedding")}
    trainer = new_trainer(options["data"], _config(options), options["tokenizer"],
                          options["vocab_size"], options["val_fraction"], **sizes)
    return trainer, out, options


def _say(quiet: bool, text: str) -> None:
    if not quiet:
        print(text, file=sys.stderr, flush=True)


@contextlib.contextmanager
def _stop_on_ctrl_c(control: TrainControl) -> Iterator[None]:
    """The first Ctrl+C ends the run after the current step; a second one interrupts."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        if control.stopped:
            raise KeyboardInterrupt
        control.stop()
        print("\nstopping after this step (Ctrl+C again to interrupt)…", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _train(trainer: Trainer, out: Path, save_every: int, quiet: bool,
           control: TrainControl) -> None:
    tty = sys.stderr.isatty() and not quiet
    log = MetricsLog(out / METRICS_FILE)
    last_val, last_draw = None, 0.0
    try:
        for r in trainer.steps(control):
            log.write(r)
            last_val = r.val_loss if r.val_loss is not None else last_val
            now = time.monotonic()
            if tty and (now - last_draw > 0.1 or r.step == trainer.config.steps):
                sys.stderr.write("\r" + progress_line(r, trainer.config.steps, last_val))
                sys.stderr.flush()
                last_draw = now
            elif not tty and r.val_loss is not None:
                _say(quiet, progress_line(r, trainer.config.steps, last_val))
            if save_every and r.step % save_every == 0 and not trainer.done:
                save_checkpoint(trainer, out)
    finally:
        log.close()
        if tty:
            sys.stderr.write("\n")


def run(args: argparse.Namespace) -> int:
    trainer = None
    out = Path(args.out or args.resume or ".")
    lock = None
    try:
        if args.resume:
            find_checkpoint(args.resume)  # a clear error before anything is created
        if args.out or args.resume:  # one writer per run folder
            lock = RunLock(out).acquire()
        trainer, out, options = _build(args)
        _say(args.quiet, f"{trainer.data.describe()}")
        _say(args.quiet, f"model: {trainer.model.cfg.algorithm_name} "
             f"({trainer.model.num_parameters():,} parameters) on {trainer.device_label}")
        label = precision_label(trainer.precision, trainer.device, trainer.config.tf32)
        _say(args.quiet, f"precision: {label} ({trainer.precision_note})")
        if trainer.info.get("warning"):
            _say(args.quiet, f"warning: {trainer.info['warning']}")
        control = TrainControl()
        with _stop_on_ctrl_c(control):
            _train(trainer, out, options["save_every"], args.quiet, control)
        path = save_checkpoint(trainer, out)
        if control.stopped and not trainer.done:
            print(f"stopped at step {trainer.step}; checkpoint saved to {path}; "
                  f"continue with --resume {out}", file=sys.stderr)
            return 130
        h = trainer.history
        val = f", validation loss {h.val_loss[-1]:.4f}" if h.val_loss else ""
        rate = format_rate(trainer.tokens / max(trainer.elapsed_s, 1e-9))
        _say(args.quiet, f"done: step {trainer.step}, loss {h.loss[-1]:.4f}{val}, "
             f"{rate}, {format_duration(trainer.elapsed_s)}; checkpoint in {path}")
        _say(args.quiet, f"sample: {sample_text(trainer)}")
        return 0
    except KeyboardInterrupt:
        if trainer is not None and trainer.step > 0:
            path = save_checkpoint(trainer, out)
            print(f"\nstopped at step {trainer.step}; checkpoint saved to {path}; "
                  f"continue with --resume {out}", file=sys.stderr)
        return 130
    except OutOfMemory as exc:
        path = save_checkpoint(trainer, out) if trainer is not None else None
        print(f"error: {exc}" + (f" Checkpoint saved to {path}; continue with "
              f"--resume {out} --batch-size N or --device cpu." if path else ""),
              file=sys.stderr)
        return 1
    except (TrainingDiverged, RunLocked, CheckpointError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if lock is not None:
            lock.release()
