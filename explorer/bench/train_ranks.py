"""``transformer-explorer bench train --nproc N``: 1 process against N ranks (DDP).

The same model (``--sizes``' first size of ``bench train``) and the same global batch
(``--batch-size``) train on the same token stream, once in this process (one rank,
CPU threads = cores, as a plain run gets them) and once in N processes started by
``torch.distributed.run`` (per-rank batch = global ÷ N, threads = cores ÷ N, gloo on the
CPU, nccl on CUDA). The N ranks are started once and wait between rounds; this process
tells them when to run their steps through a c10d TCPStore, so the rounds interleave
(each side once per round, order alternating) without paying process start-up each time.
Per round: both sides' seconds and how busy the machine was beyond this benchmark's own
processes (/proc/stat). Headline: the median round's speedup (1-rank seconds ÷ N-rank
seconds) and the scaling efficiency, speedup ÷ N.

Run as ``python -m explorer.bench.train_ranks`` under torch.distributed.run it is one of
those ranks.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from typing import Any

import torch

from explorer.bench.rounds import CONTENDED, _cpu_jiffies, _own_cpu_s, summary
from explorer.bench.train_sizes import SIZES, corpus
from explorer.train import TrainConfig, Trainer, new_trainer
from explorer.train.devices import describe_device, resolve_device
from explorer.train.distributed import DistContext, available_cores
from explorer.train.sources import DataSource

START_TIMEOUT_S = 600


def _trainer(size: str, batch: int, device: str) -> Trainer:
    n_layers, n_heads, d_e, l_max = SIZES[size]
    config = TrainConfig(task="next-token", steps=10**9, batch_size=batch, lr=1e-3,
                         val_every=0, log_every=1, device=device, precision="fp32")
    source = DataSource("next-token", "bench corpus", text=corpus())
    return new_trainer(source, config, "char", l_max=l_max, d_e=d_e, n_heads=n_heads,
                       n_layers=n_layers)


def _size(args: argparse.Namespace) -> str:
    size = args.sizes.split(",")[0].strip()
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}: use {', '.join(SIZES)}")
    return size


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Interleaved rounds of 1 process and ``args.nproc`` ranks; the numbers as a dict."""
    from torch.distributed import TCPStore

    n = int(args.nproc)
    if n < 2:
        raise ValueError(f"--nproc must be at least 2 to compare with one process, not {n}")
    size = _size(args)
    global_batch = args.batch_size if size == "small" else args.big_batch_size
    steps = args.steps if size == "small" else args.big_steps
    if global_batch % n:
        raise ValueError(f"the global batch {global_batch} does not split over {n} ranks")
    device = resolve_device(args.device)
    cores = available_cores()
    single_threads = args.threads or cores
    rank_threads = max(1, (args.threads or cores) // n)
    store = TCPStore("127.0.0.1", 0, is_master=True, wait_for_workers=False,
                     timeout=timedelta(seconds=START_TIMEOUT_S))
    env = dict(os.environ, OMP_NUM_THREADS=str(rank_threads))
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"):
        env.pop(key, None)
    worker = subprocess.Popen(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node",
         str(n), "--max-restarts", "0", "-m", "explorer.bench.train_ranks",
         "--port", str(store.port), "--size", size, "--batch", str(global_batch // n),
         "--threads", str(rank_threads), "--device", args.device],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        torch.set_num_threads(single_threads)
        single = _trainer(size, global_batch, str(device))
        steps_iter = single.steps()
        store.wait(["ready"])
        ready = json.loads(store.get("ready"))
        rows = []
        names = ["1 rank", f"{n} ranks"]
        for rnd in range(1 + args.rounds):  # the first round warms up, untimed
            seconds: dict[str, float] = {}
            jiffies, own, wall = _cpu_jiffies(), _own_cpu_s(), time.perf_counter()
            ranks_cpu = 0.0
            for name in (names if rnd % 2 else names[::-1]):
                if name == "1 rank":
                    start = time.perf_counter()
                    for _ in range(steps):
                        next(steps_iter)
                    seconds[name] = time.perf_counter() - start
                else:
                    store.set(f"go/{rnd}", str(steps))
                    done = json.loads(store.get(f"done/{rnd}"))
                    seconds[name], ranks_cpu = done["seconds"], done["cpu_s"]
            wall = time.perf_counter() - wall
            end = _cpu_jiffies()
            ours = min(1.0, (_own_cpu_s() - own + ranks_cpu) / max(wall * cores, 1e-9))
            machine = None
            if jiffies is not None and end is not None and end[1] > jiffies[1]:
                machine = (end[0] - jiffies[0]) / (end[1] - jiffies[1])
            others = None if machine is None else max(0.0, machine - ours)
            if rnd >= 1:
                rows.append({"seconds": seconds, "machine_busy": None if machine is None
                             else round(machine, 3), "ours": round(ours, 3),
                             "others": None if others is None else round(others, 3),
                             "contended": None if others is None else others > CONTENDED})
        store.set(f"go/{1 + args.rounds}", "stop")
        worker.wait(timeout=120)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    if worker.returncode:
        raise RuntimeError(f"the {n} ranks failed: {worker.stderr.read()[-2000:]}")
    result = summary(rows, names[0], names[1])  # 1-rank seconds ÷ N-rank seconds
    tokens = steps * global_batch * single.model.cfg.l_max
    median = {k: sorted(r["seconds"][k] for r in rows)[len(rows) // 2] for k in names}
    speedup = result["median_round_ratio"]
    quiet = result["median_uncontended_round_ratio"]
    return {
        "benchmark": "train --nproc",
        "device": describe_device(device),
        "backend": ready["backend"],
        "cores": cores,
        "model": {"size": size, "parameters": single.model.num_parameters(),
                  "l_max": single.model.cfg.l_max, "precision": "fp32"},
        "global_batch": global_batch,
        "steps_per_round_and_side": steps,
        "one_rank": {"batch": global_batch, "threads": single_threads,
                     "tokens_per_s": round(tokens / median[names[0]], 1)},
        "ranks": {"n": n, "batch_per_rank": global_batch // n, "threads_per_rank":
                  ready["threads"], "tokens_per_s": round(tokens / median[names[1]], 1)},
        "headline": "median over interleaved rounds of 1-rank seconds ÷ N-rank seconds "
                    "(speedup); scaling efficiency = speedup ÷ N",
        "speedup": speedup,
        "scaling_efficiency": round(speedup / n, 3),
        "speedup_uncontended_rounds": quiet,
        "scaling_efficiency_uncontended_rounds": None if quiet is None else round(quiet / n, 3),
        "contended_rounds": result["contended_rounds"],
        "rounds": result["rounds"],
    }


def _rank_main(argv: list[str] | None = None) -> int:
    """One of the N ranks: build the run, then do each round's steps when told."""
    from torch.distributed import TCPStore

    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--size", required=True)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    ctx = DistContext.from_env()
    torch.set_num_threads(args.threads)
    device = resolve_device(ctx.device(args.device))
    ctx.start(device)
    store = TCPStore("127.0.0.1", args.port, is_master=False,
                     timeout=timedelta(seconds=START_TIMEOUT_S))
    try:
        trainer = _trainer(args.size, args.batch, str(device)).distribute(ctx)
        steps = trainer.steps()
        if ctx.is_writer:
            store.set("ready", json.dumps({"threads": torch.get_num_threads(),
                                           "backend": ctx.backend}))
        rnd = 0
        while True:
            command = store.get(f"go/{rnd}").decode()
            if command == "stop":
                return 0
            ctx.barrier()
            cpu, start = _own_cpu_s(), time.perf_counter()
            for _ in range(int(command)):
                next(steps)
            ctx.barrier()
            seconds = time.perf_counter() - start
            cpu_s = float(ctx.sum(torch.tensor([_own_cpu_s() - cpu], device=device)))
            if ctx.is_writer:
                store.set(f"done/{rnd}", json.dumps({"seconds": seconds, "cpu_s": cpu_s}))
            rnd += 1
    finally:
        ctx.stop()


if __name__ == "__main__":
    raise SystemExit(_rank_main())
