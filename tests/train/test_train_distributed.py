"""Training in several processes (torchrun, DDP, gloo on the CPU): the same losses as one
process, disjoint shards, rank 0 alone writing, resume with another number of ranks, a
rank that dies, Ctrl+C, and two "nodes" meeting at a localhost c10d rendezvous.

The multi-process tests start ``python -m explorer train --nproc 2`` (torch.distributed.run
underneath) with one CPU thread per rank and a tiny model: seconds each.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import torch

from explorer.cli import main
from explorer.commands import train_launch
from explorer.commands.train import _train
from explorer.commands.train import add_arguments as train_add_arguments
from explorer.train import (
    DataSource,
    TrainConfig,
    TrainControl,
    load_checkpoint_model,
    new_trainer,
    read_checkpoint_state,
)
from explorer.train.distributed import DistContext, shard_slots
from explorer.train.snapshots import list_snapshots

MODEL = ["--d-e", "16", "--n-heads", "2", "--n-layers", "1", "--l-max", "16"]
RUN_TIMEOUT = 180


def _text(n: int = 20_000, seed: int = 0) -> str:
    g = torch.Generator().manual_seed(seed)
    letters = "abcdefgh "
    return "".join(letters[i] for i in torch.randint(0, len(letters), (n,), generator=g))


def _metrics(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def _env() -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env.pop("RANK", None)
    return env


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "explorer", "train", *args, "--threads", "1"]


def _close(a: list[float], b: list[float], rel: float = 1e-5) -> bool:
    return len(a) == len(b) and all(abs(x - y) <= rel * abs(y) for x, y in zip(a, b))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("dist") / "corpus.txt"
    path.write_text(_text(), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def runs(corpus, tmp_path_factory) -> dict[str, Path]:
    """The same 20 steps, global batch 8: one process (batch 8) and 2 ranks (batch 4)."""
    base = tmp_path_factory.mktemp("runs")
    common = ["--data", str(corpus), "--steps", "20", "--val-every", "10", *MODEL]
    one, two = base / "one", base / "two"
    assert main(["train", *common, "--out", str(one), "--batch-size", "8", "--quiet"]) == 0
    done = subprocess.run(_command(*common, "--out", str(two), "--batch-size", "4",
                                   "--nproc", "2"),
                          env=_env(), capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert done.returncode == 0, done.stderr[-3000:]
    return {"one": one, "two": two, "two_stderr": done.stderr}


def test_shards_are_disjoint_and_cover_the_global_batch(corpus) -> None:
    indices = torch.arange(100, 124)
    for world, accum in ((1, 1), (2, 1), (2, 3), (3, 2), (4, 1)):
        parts = {(a, r): s for r in range(world)
                 for a, s in enumerate(shard_slots(indices, r, world, accum))}
        # slot a·world + r, in that order, is exactly the global batch: disjoint, covering
        ordered = [parts[(a, r)] for a in range(accum) for r in range(world)]
        assert torch.equal(torch.cat(ordered), indices)
        assert len({int(i) for s in ordered for i in s}) == indices.numel()
        assert len({s.numel() for s in ordered}) == 1
    with pytest.raises(ValueError, match="does not split"):
        shard_slots(torch.arange(10), 0, 3, 1)

    # what each rank reads is its rows of the global batch one process would read
    source = DataSource("next-token", "corpus", text=corpus.read_text())
    trainer = new_trainer(source, TrainConfig(steps=5, batch_size=8), "char", l_max=16,
                          d_e=16, n_heads=2, n_layers=1)
    data = trainer.data
    drawn = data.draw_indices(8, torch.Generator().manual_seed(3))
    whole = data.batch_at(drawn).x
    assert torch.equal(whole, data.train_batch(8, torch.Generator().manual_seed(3)).x)
    rows = [data.batch_at(shard_slots(drawn, r, 2, 1)[0]).x for r in range(2)]
    assert torch.equal(torch.cat(rows), whole)


def test_context_from_torchruns_environment_and_threads_per_rank(monkeypatch) -> None:
    single = DistContext.from_env({})
    assert (single.rank, single.world_size, single.active, single.is_writer) == (0, 1, False,
                                                                                  True)
    ctx = DistContext.from_env({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1",
                                "LOCAL_WORLD_SIZE": "2"})
    assert (ctx.rank, ctx.world_size, ctx.local_rank, ctx.local_world_size) == (3, 4, 1, 2)
    assert not ctx.is_writer
    monkeypatch.setattr("explorer.train.distributed.available_cores", lambda: 8)
    assert ctx.threads() == (4, "8 cores ÷ 2 local ranks")
    assert ctx.threads(3) == (3, "asked for")
    with pytest.raises(ValueError, match="inconsistent"):
        DistContext.from_env({"RANK": "2", "WORLD_SIZE": "2", "LOCAL_RANK": "0"})


def test_only_rank_0_writes_metrics_and_checkpoints(corpus, tmp_path) -> None:
    source = DataSource("next-token", "corpus", text=corpus.read_text())
    for rank in (1, 0):
        trainer = new_trainer(source, TrainConfig(steps=4, batch_size=2, val_every=2,
                                                  snapshot_every=2),
                              "char", l_max=16, d_e=16, n_heads=2, n_layers=1)
        trainer.distribute(DistContext(rank=rank, world_size=2))  # (no process group)
        assert trainer.global_batch == 4
        out = tmp_path / f"rank{rank}"
        trainer.snapshot_dir = out
        _train(trainer, out, save_every=2, quiet=True, control=TrainControl())
        assert trainer.step == 4
        if rank:
            assert not out.exists()  # no metrics, checkpoint or weight snapshot
        else:
            assert [r["step"] for r in _metrics(out)] == [1, 2, 3, 4]
            assert read_checkpoint_state(out)["step"] == 2
            assert [snap.step for snap in list_snapshots(out)] == [0, 2, 4]


def test_two_ranks_give_the_losses_of_one_process_with_the_same_global_batch(runs) -> None:
    one, two = _metrics(runs["one"]), _metrics(runs["two"])
    assert [r["step"] for r in two] == list(range(1, 21))  # each step once: rank 0 wrote
    assert _close([r["loss"] for r in two], [r["loss"] for r in one])
    assert _close([r["val_loss"] for r in two if "val_loss" in r],
                  [r["val_loss"] for r in one if "val_loss" in r])
    assert {(r["batch_per_rank"], r["ranks"], r["grad_accum"], r["global_batch"])
            for r in two} == {(4, 2, 1, 8)}
    assert {(r["ranks"], r["global_batch"]) for r in one} == {(1, 8)}
    assert {p.name for p in runs["two"].iterdir()} <= {"checkpoint", "metrics.jsonl", ".lock"}
    err = runs["two_stderr"]
    assert "2 ranks" in err and "gloo" in err and "1 CPU thread(s) per rank" in err
    assert "batch: 4 per rank × 2 rank(s) × 1 accumulation step(s) = global batch 8" in err
    assert err.count("done: step 20") == 1  # rank 0 alone reports
    state = read_checkpoint_state(runs["two"])
    assert (state["step"], state["ranks"], state["global_batch"]) == (20, 2, 8)


def test_accumulation_gives_the_losses_of_the_larger_batch(corpus, tmp_path) -> None:
    common = ["train", "--data", str(corpus), "--steps", "6", "--val-every", "3", "--quiet",
              *MODEL]
    assert main([*common, "--out", str(tmp_path / "big"), "--batch-size", "8"]) == 0
    assert main([*common, "--out", str(tmp_path / "acc"), "--batch-size", "2",
                 "--grad-accum", "4"]) == 0
    big, acc = _metrics(tmp_path / "big"), _metrics(tmp_path / "acc")
    assert _close([r["loss"] for r in acc], [r["loss"] for r in big])
    assert {(r["batch_per_rank"], r["grad_accum"], r["global_batch"]) for r in acc} == {
        (2, 4, 8)}


def test_a_run_resumed_with_another_number_of_ranks_continues_the_curve(runs, tmp_path,
                                                                        capsys) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    shutil.copytree(runs["one"], one)
    shutil.copytree(runs["two"], two)
    assert main(["train", "--resume", str(one), "--steps", "30", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(two), "--steps", "30"]) == 0  # 2 ranks -> 1
    err = capsys.readouterr().err
    assert "batch size 4 -> 8 per rank, so that the global batch stays 8" in err
    a, b = _metrics(one), _metrics(two)
    assert [r["step"] for r in b] == list(range(1, 31))
    assert [r["ranks"] for r in b] == [2] * 20 + [1] * 10
    assert _close([r["loss"] for r in b[20:]], [r["loss"] for r in a[20:]])


def _rank_pid(launcher: int, rank: int) -> int | None:
    """The pid of the worker of ``launcher`` that torchrun gave RANK=rank."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            env = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == launcher and f"RANK={rank}".encode() in env:
            return int(entry.name)
    return None


def _wait_for_checkpoint(out: Path, step: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if read_checkpoint_state(out, verify=False)["step"] >= step:
                return
        except (ValueError, OSError, KeyError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"no checkpoint of step {step} appeared")


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")
def test_a_killed_rank_ends_the_run_with_a_message_and_the_last_checkpoint(
        runs, tmp_path) -> None:
    out = tmp_path / "run"
    shutil.copytree(runs["one"], out)  # resumed by 2 ranks (1 -> 2): per-rank batch 4
    proc = subprocess.Popen(_command("--resume", str(out), "--steps", "100000",
                                     "--save-every", "5", "--nproc", "2"),
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        _wait_for_checkpoint(out, 30, proc)
        victim = _rank_pid(proc.pid, 1)
        assert victim is not None
        os.kill(victim, signal.SIGKILL)
        _, err = proc.communicate(timeout=RUN_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0
    assert "another rank of the 2 stopped" in err  # rank 0's message
    assert "is kept: continue with --resume" in err
    assert "rank 1" in err and "SIGKILL" in err  # the launcher's
    state = read_checkpoint_state(out)  # every file's checksum verified
    assert state["step"] >= 30 and state["step"] % 5 == 0 and state["ranks"] == 2
    assert load_checkpoint_model(out).cfg.d_e == 16
    rows = _metrics(out)
    assert {(r["batch_per_rank"], r["ranks"]) for r in rows if r["step"] > 20} == {(4, 2)}


def test_ctrl_c_stops_every_rank_and_saves_once(corpus, tmp_path) -> None:
    out = tmp_path / "run"
    proc = subprocess.Popen(_command("--data", str(corpus), "--out", str(out), "--steps",
                                     "100000", "--save-every", "10", "--batch-size", "4",
                                     "--nproc", "2", *MODEL),
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        _wait_for_checkpoint(out, 10, proc)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=RUN_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err[-2000:]
    # One save, or none when the stop landed on a step just saved (--save-every 10)
    saved, kept = err.count("checkpoint saved to"), err.count("nothing new to save")
    assert saved + kept == 1 and "continue with --resume" in err, err[-2000:]
    state = read_checkpoint_state(out)
    assert state["step"] == _metrics(out)[-1]["step"] > 10


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_nodes_of_one_process_meet_at_a_localhost_c10d_rendezvous(corpus,
                                                                       tmp_path) -> None:
    common = ["--data", str(corpus), "--steps", "6", "--val-every", "3", *MODEL]
    assert main(["train", *common, "--out", str(tmp_path / "one"), "--batch-size", "8",
                 "--quiet"]) == 0
    nodes = ["--nnodes", "2", "--nproc", "1", "--rdzv-endpoint",
             f"localhost:{_free_port()}", "--rdzv-id", uuid.uuid4().hex]
    out = tmp_path / "two"
    procs = [subprocess.Popen(_command(*common, "--out", str(out), "--batch-size", "4",
                                       *nodes),
                              env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    try:
        errs = [p.communicate(timeout=RUN_TIMEOUT)[1] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in procs] == [0, 0], errs
    assert sum("done: step 6" in e for e in errs) == 1
    two, one = _metrics(out), _metrics(tmp_path / "one")
    assert {r["ranks"] for r in two} == {2}
    assert _close([r["loss"] for r in two], [r["loss"] for r in one])


def test_launcher_arguments_and_errors(capsys) -> None:
    from explorer.cli import build_parser

    args = build_parser(["train"]).parse_args(
        ["train", "--data", "x.txt", "--steps", "5", "--no-bf16", "--quiet", "--nproc", "2"])
    torchrun = train_launch.torchrun_arguments(args, train_add_arguments)
    assert torchrun[:7] == ["--nproc-per-node", "2", "--nnodes", "1", "--max-restarts", "0",
                            "--standalone"]
    tail = torchrun[torchrun.index("-m"):]
    assert tail[:3] == ["-m", "explorer", "train"]
    assert "--nproc" not in tail and {"--no-bf16", "--quiet"} <= set(tail)
    assert tail[tail.index("--steps") + 1] == "5"
    args = build_parser(["train"]).parse_args(["train", "--data", "x", "--nnodes", "2"])
    assert main(["train", "--data", "x", "--nnodes", "2"]) == 1
    assert "--rdzv-endpoint" in capsys.readouterr().err
    with pytest.raises(ValueError, match="rdzv-endpoint"):
        train_launch.torchrun_arguments(args, train_add_arguments)


def test_a_nan_loss_ends_every_rank_and_keeps_the_last_finite_weights(corpus,
                                                                     tmp_path) -> None:
    out = tmp_path / "run"
    done = subprocess.run(_command("--data", str(corpus), "--out", str(out), "--steps", "50",
                                   "--batch-size", "4", "--lr", "1e9", "--grad-clip", "1e30",
                                   "--nproc", "2", *MODEL),
                          env=_env(), capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert done.returncode == 1
    err = done.stderr
    assert err.count("error: the loss became nan") == 1  # rank 0 says it, once
    assert "last finite weights (step 1) were saved" in err
    state = read_checkpoint_state(out)
    assert state["step"] == _metrics(out)[-1]["step"] == 1
    assert torch.isfinite(torch.cat([p.flatten() for p in
                                     load_checkpoint_model(out).parameters()])).all()
