"""Training in several processes: torchrun's environment, DDP's process group, the shards.

We write no distributed system of our own. ``torchrun --nproc-per-node N -m explorer
train …`` (or ``transformer-explorer train --nproc N …``, which starts the same through
``torch.distributed.run``) starts N processes and sets RANK, LOCAL_RANK, WORLD_SIZE,
LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT in each; ``DistContext.from_env()`` reads
them and ``start()`` joins the process group (gloo on the CPU, nccl on CUDA with one GPU
per local rank). Without them the context is a plain single process: nothing changes.

The data: every step the seeded batch generator (the same state on every rank) draws the
indices of the *global* batch, ``per-rank batch × world size × accumulation steps``
examples; ``shard_slots`` cuts them into world × accumulation slots of one per-rank
batch, and rank r reads only its own slots (micro-step a of rank r is slot
``a · world + r``). The slots are disjoint and together they are the global batch, so a
run gives the same losses whatever the number of ranks, and a run resumed with another
number of ranks continues the same stream.

Rank 0 alone writes (``is_writer``): metrics.jsonl, samples, checkpoints.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist

ENV_KEYS = ("RANK", "WORLD_SIZE", "LOCAL_RANK")
TIMEOUT = timedelta(minutes=10)  # a collective waiting this long for a peer fails


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def shard_slots(indices: torch.Tensor, rank: int, world_size: int,
                accumulation: int) -> list[torch.Tensor]:
    """Rank ``rank``'s part of a global batch's ``indices``: one index tensor per
    accumulation micro-step (slot ``a · world_size + rank`` of equal slots)."""
    n_slots = world_size * accumulation
    if indices.numel() % n_slots:
        raise ValueError(f"a global batch of {indices.numel()} does not split into "
                         f"{world_size} ranks × {accumulation} accumulation steps")
    size = indices.numel() // n_slots
    return [indices[(a * world_size + rank) * size:(a * world_size + rank + 1) * size]
            for a in range(accumulation)]


@dataclass
class DistContext:
    """Which process of how many this is; ``active`` when a process group is used."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1
    backend: str | None = None  # gloo or nccl once started
    started: bool = False

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> DistContext:
        """The context torchrun's environment describes; a single process without it."""
        env = os.environ if env is None else env
        if not all(k in env for k in ENV_KEYS):
            return cls()
        try:
            rank, world = int(env["RANK"]), int(env["WORLD_SIZE"])
            local_rank = int(env["LOCAL_RANK"])
            local_world = int(env.get("LOCAL_WORLD_SIZE", world))
        except ValueError as exc:
            raise ValueError(f"torchrun's environment is malformed ({exc})") from exc
        if not 0 <= rank < world or not 0 <= local_rank < local_world:
            raise ValueError(f"torchrun's environment is inconsistent: rank {rank} of "
                             f"{world}, local rank {local_rank} of {local_world}")
        return cls(rank, world, local_rank, local_world)

    @property
    def active(self) -> bool:
        """True when the run has more than one process (a process group exists)."""
        return self.started and self.world_size > 1

    @property
    def is_writer(self) -> bool:
        """Only rank 0 writes metrics, samples and checkpoints."""
        return self.rank == 0

    def device(self, asked: str | None) -> str:
        """The device of this rank: with CUDA, ``cuda:LOCAL_RANK`` (one GPU per local
        rank); otherwise what was asked for."""
        asked = (asked or "auto").strip().lower()
        if self.world_size > 1 and asked in ("auto", "cuda") and torch.cuda.is_available():
            if self.local_rank >= torch.cuda.device_count():
                raise ValueError(f"local rank {self.local_rank} has no GPU of its own (only "
                                 f"{torch.cuda.device_count()}): start at most that many "
                                 "processes per node")
            return f"cuda:{self.local_rank}"
        if self.world_size > 1 and asked == "mps":
            raise ValueError("several processes cannot share Apple MPS: use --device cpu")
        return asked

    def start(self, device: torch.device) -> None:
        """Join the process group (from torchrun's environment): nccl for CUDA, gloo
        otherwise. No-op for a single process."""
        if self.world_size <= 1 or self.started:
            return
        self.backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(self.backend, timeout=TIMEOUT,
                                device_id=device if device.type == "cuda" else None)
        self.started = True

    def stop(self) -> None:
        """Leave the process group (never raises: peers may be gone)."""
        if self.started:
            self.started = False
            try:
                dist.destroy_process_group()
            except (RuntimeError, ValueError):
                pass

    def threads(self, asked: int | None = None) -> tuple[int, str]:
        """(CPU threads for this rank, why): ``asked`` or cores ÷ local ranks."""
        if asked is not None:
            if asked < 1:
                raise ValueError(f"--threads must be at least 1, not {asked}")
            return asked, "asked for"
        cores = available_cores()
        n = max(1, cores // max(1, self.local_world_size))
        return n, f"{cores} cores ÷ {self.local_world_size} local ranks"

    # -- collectives (no-ops for a single process) ------------------------------------
    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    def sum(self, values: torch.Tensor) -> torch.Tensor:
        """The element-wise sum of ``values`` over all ranks."""
        if self.active:
            values = values.clone()
            dist.all_reduce(values, op=dist.ReduceOp.SUM)
        return values

    def any(self, flag: bool, device: torch.device) -> bool:
        """True on every rank when ``flag`` is True on any rank."""
        if not self.active:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=device)
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return bool(t.item() > 0)


SINGLE = DistContext()


def is_peer_failure(exc: BaseException) -> bool:
    """True for the error a collective raises when another rank died or hung."""
    if isinstance(exc, dist.DistError):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and any(
        s in text for s in ("Connection closed by peer", "Connection reset by peer",
                            "gloo", "NCCL", "ProcessGroup"))
