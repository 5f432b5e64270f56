"""``transformer-explorer train --nproc N …``: the same as ``torchrun --nproc-per-node N
-m explorer train …``, started through ``torch.distributed.run`` (PyTorch's launcher, its
Python API) for those who do not know torchrun.

One machine: ``--nproc N`` (a standalone rendezvous on a free local port). Several
machines: on each, ``--nnodes M --nproc N --rdzv-endpoint HOST:PORT`` with the same
``--rdzv-id`` (a c10d rendezvous hosted at HOST:PORT). torchrun's agent watches the
processes: when one ends with an error it stops the others and the run ends.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable

from explorer.train.distributed import available_cores

OPTIONS = ("nproc", "nnodes", "node_rank", "rdzv_endpoint", "rdzv_id")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group(
        "several processes (torchrun)",
        "start the run in N processes through torch.distributed.run (the same as "
        "torchrun --nproc-per-node N -m explorer train …)")
    g.add_argument("--nproc", type=int, metavar="N",
                   help="processes on this machine (one per GPU with CUDA)")
    g.add_argument("--nnodes", metavar="M", help="machines taking part (default 1; "
                   "MIN:MAX for an elastic range)")
    g.add_argument("--node-rank", type=int, help="this machine's rank (default: assigned "
                   "by the rendezvous)")
    g.add_argument("--rdzv-endpoint", metavar="HOST:PORT",
                   help="where the machines meet (c10d rendezvous); needed with --nnodes")
    g.add_argument("--rdzv-id", default=None,
                   help="the run's name at the rendezvous, the same on every machine")


def wanted(args: argparse.Namespace) -> bool:
    """True when the command line asks for torchrun (--nproc or --nnodes)."""
    return args.nproc is not None or args.nnodes is not None


class _Recorder(argparse.ArgumentParser):
    """A parser that keeps the ``Action`` each ``add_argument`` returns, its groups' too
    (argparse's public API: no reach into the parser's private list of actions)."""

    def __init__(self) -> None:
        super().__init__(add_help=False)
        self.recorded: list[argparse.Action] = []

    def add_argument(self, *args, **kwargs) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        self.recorded.append(action)
        return action

    def add_argument_group(self, *args, **kwargs):
        group = super().add_argument_group(*args, **kwargs)
        add = group.add_argument

        def recording(*a, **k) -> argparse.Action:
            action = add(*a, **k)
            self.recorded.append(action)
            return action

        group.add_argument = recording
        return group


def _child_arguments(args: argparse.Namespace,
                     add_train_arguments: Callable[[argparse.ArgumentParser], None]
                     ) -> list[str]:
    """The ``train`` options given (those ``add_train_arguments`` defines), written back
    as a command line, without ours."""
    parser = _Recorder()
    add_train_arguments(parser)
    given = vars(args)
    out: list[str] = []
    for action in parser.recorded:
        if action.dest in OPTIONS or not action.option_strings:
            continue
        value = given.get(action.dest, action.default)
        if value is None or value == action.default:
            continue
        flag = action.option_strings[-1] if action.option_strings[-1].startswith("--") \
            else action.option_strings[0]
        if action.nargs == 0:  # a switch (store_true / store_false): its flag alone
            out.append(flag)
        else:
            out += [flag, str(value)]
    return out


def torchrun_arguments(args: argparse.Namespace,
                       add_train_arguments: Callable[[argparse.ArgumentParser], None]
                       ) -> list[str]:
    """The torchrun command line (without the program name) that runs this training;
    ``add_train_arguments`` defines the options of ``train`` (``commands.train``'s, handed
    in, so that this module does not import the command that imports it)."""
    nproc = args.nproc if args.nproc is not None else 1
    if nproc < 1:
        raise ValueError(f"--nproc must be at least 1, not {nproc}")
    nnodes = str(args.nnodes or "1")
    out = ["--nproc-per-node", str(nproc), "--nnodes", nnodes, "--max-restarts", "0"]
    if nnodes == "1" and not args.rdzv_endpoint:
        out.append("--standalone")
    else:
        if not args.rdzv_endpoint:
            raise ValueError("--nnodes needs --rdzv-endpoint HOST:PORT: where the machines "
                             "meet (the same on every machine)")
        out += ["--rdzv-backend", "c10d", "--rdzv-endpoint", args.rdzv_endpoint,
                "--rdzv-id", args.rdzv_id or "transformer-explorer"]
        if args.node_rank is not None:
            out += ["--node-rank", str(args.node_rank)]
    return [*out, "-m", "explorer", "train", *_child_arguments(args, add_train_arguments)]


def _failure_message(exc: BaseException) -> tuple[str, int]:
    failures = getattr(exc, "failures", {}) or {}
    if not failures:
        return f"the run failed ({exc})", 1
    rank, failure = exc.get_first_failure()  # the first to fail: the cause
    code = int(getattr(failure, "exitcode", 1) or 1)
    if code < 0:
        try:
            how = f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            how = f"was killed by signal {-code}"
        code = 128 - code
    else:
        how = f"ended with exit code {code}"
    return (f"rank {rank} (pid {getattr(failure, 'pid', '?')}) {how}; torchrun stopped the "
            "other ranks and the run ended (see the messages above)"), code


def launch(args: argparse.Namespace,
           add_train_arguments: Callable[[argparse.ArgumentParser], None]) -> int:
    """Run ``transformer-explorer train`` in ``--nproc`` processes through
    torch.distributed.run; returns the exit code."""
    from torch.distributed.elastic.multiprocessing import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.elastic.rendezvous.api import RendezvousError
    from torch.distributed.run import parse_args, run

    try:
        torchrun = torchrun_arguments(args, add_train_arguments)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    # each rank sets its own threads (cores ÷ local ranks, or --threads); saying so here
    # spares torchrun's warning that it chose 1
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, available_cores() // args.nproc
                                                     if args.nproc else 1)))
    try:
        run(parse_args(torchrun))
    except ChildFailedError as exc:
        message, code = _failure_message(exc)
        print(f"error: {message}", file=sys.stderr)
        return code
    except SignalException as exc:
        return 128 + int(exc.sigval)
    except (RendezvousError, RuntimeError, ValueError) as exc:
        print(f"error: the processes could not start together ({exc})", file=sys.stderr)
        return 1
    return 0
