"""Following a run folder another process writes: new rows, a half-written line, a new
checkpoint and snapshots, a restart, a deleted folder; and never a write into the folder."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from explorer.state.follow import RunFollower


def row(step: int, loss: float = 2.0) -> str:
    return json.dumps({"step": step, "loss": loss, "lr": 1e-3, "grad_norm": 1.0,
                       "tokens_per_s": 100.0, "elapsed_s": step, "eta_s": 10.0,
                       "tokens": step * 10}) + "\n"


def listing(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*")}


def test_new_rows_and_a_half_written_line(tmp_path):
    metrics = tmp_path / "metrics.jsonl"
    metrics.write_text(row(1) + row(2))
    f = RunFollower(tmp_path)
    assert [r["step"] for r in f.poll().rows] == [1, 2]
    assert f.state == "running"
    with metrics.open("a") as out:
        out.write(row(3) + row(4)[:17])  # the writer is in the middle of step 4's line
    update = f.poll()
    assert [r["step"] for r in update.rows] == [3] and not update.messages
    with metrics.open("a") as out:
        out.write(row(4)[17:])
    assert [r["step"] for r in f.poll().rows] == [4]
    assert f.poll().empty


def test_a_rewritten_log_or_a_step_back_starts_the_curve_over(tmp_path):
    metrics = tmp_path / "metrics.jsonl"
    metrics.write_text(row(1) + row(2) + row(3))
    f = RunFollower(tmp_path)
    f.poll()
    tmp = tmp_path / "m.tmp"  # a resumed run truncates the log atomically (new file)
    tmp.write_text(row(1) + row(2))
    os.replace(tmp, metrics)
    update = f.poll()
    assert update.restarted and [r["step"] for r in update.rows] == [1, 2]
    assert "restarted" in update.messages[0]
    with metrics.open("a") as out:  # a run that appends from an earlier step
        out.write(row(3) + row(2, 1.5) + row(3, 1.4))
    update = f.poll()
    assert update.restarted
    assert [(r["step"], r["loss"]) for r in update.rows] == [(1, 2.0), (2, 1.5), (3, 1.4)]


def test_a_new_checkpoint_and_new_snapshots_are_noticed(tmp_path):
    f = RunFollower(tmp_path)
    assert f.poll().checkpoint is None
    ckpt = tmp_path / "checkpoint"
    ckpt.mkdir()
    state = {"step": 5, "files": {"model.safetensors": "aa"}, "train_config": {"steps": 9}}
    (ckpt / "trainer.json").write_text(json.dumps(state))
    update = f.poll()
    assert update.checkpoint.step == 5 and f.total_steps == 9
    assert f.poll().checkpoint is None  # the same one
    state.update(step=9, files={"model.safetensors": "bb"})
    (ckpt / "trainer.json").write_text(json.dumps(state))
    snaps = tmp_path / "snapshots"
    snaps.mkdir()
    (snaps / "step-00000000.safetensors").write_bytes(b"x")
    (snaps / ".step-00000004.safetensors.tmp-1").write_bytes(b"half")
    update = f.poll()
    assert update.checkpoint.step == 9
    assert [s.step for s in update.snapshots] == [0]


def test_a_deleted_folder_gives_a_message_then_is_followed_again(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_text(row(1))
    f = RunFollower(run)
    f.poll()
    shutil.rmtree(run)
    update = f.poll()
    assert f.state == "gone" and "deleted" in update.messages[0]
    assert f.poll().empty  # said once
    run.mkdir()
    (run / "metrics.jsonl").write_text(row(1, 3.0))
    update = f.poll()
    assert update.restarted and [r["loss"] for r in update.rows] == [3.0]


def test_a_run_whose_process_died_is_reported_stopped(tmp_path):
    import socket
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    (tmp_path / "metrics.jsonl").write_text(row(1))
    owner = tmp_path / ".lock.owner"
    owner.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
    f = RunFollower(tmp_path)
    f.poll()
    assert f.state == "running"
    owner.write_text(json.dumps({"pid": int(gone), "host": socket.gethostname()}))
    update = f.poll()
    assert f.state == "stopped" and "crashed" in update.messages[0]


def test_following_never_writes_into_the_folder(tmp_path):
    (tmp_path / "metrics.jsonl").write_text(row(1) + '{"step": 2, "lo')
    (tmp_path / "snapshots").mkdir()
    before = listing(tmp_path)
    f = RunFollower(tmp_path)
    for _ in range(3):
        f.poll()
    assert listing(tmp_path) == before
