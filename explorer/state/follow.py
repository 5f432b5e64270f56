"""Follow a run folder that another process writes (the window, the command line, torchrun).

Read-only: nothing is ever created, locked or written in the folder. ``poll()`` says what
changed since the last call::

    follower = RunFollower("runs/demo")
    update = follower.poll()   # call it when a file watcher fires, or every second
    update.rows                # new metrics.jsonl rows (dicts; a half-written last line waits)
    update.restarted           # the log was rewritten or a step went back: start the curves over
    update.checkpoint          # a new checkpoint (CheckpointInfo), or None
    update.snapshots           # new weight snapshots (explorer.train.snapshots.SnapshotFile)
    update.messages            # sentences for the user: deleted, back, restarted, stopped

The run's state (``follower.state``) is "waiting" (no metrics yet), "running", "finished",
"stopped" (no process holds the folder any more before the last step) or "gone".
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from explorer.train.checkpoint import CHECKPOINT_DIR, METRICS_FILE, STATE_JSON
from explorer.train.runlock import OWNER_FILE
from explorer.train.snapshots import SnapshotFile, list_snapshots

MAX_READ = 8 << 20  # bytes of metrics read per poll (a huge log arrives over a few polls)


@dataclass(frozen=True)
class CheckpointInfo:
    """A checkpoint as ``trainer.json`` describes it (the files are not verified here)."""

    step: int
    folder: Path
    digest: str  # the sha256 of its model.safetensors, as trainer.json lists it
    train_config: dict[str, Any]
    info: dict[str, Any]


@dataclass
class FollowUpdate:
    rows: list[dict[str, Any]] = field(default_factory=list)
    restarted: bool = False
    checkpoint: CheckpointInfo | None = None
    snapshots: list[SnapshotFile] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.rows or self.restarted or self.checkpoint or self.snapshots
                    or self.messages)


def read_checkpoint_info(run_dir: str | os.PathLike) -> CheckpointInfo | None:
    """The newest complete checkpoint's description, or None (none yet, or mid-save)."""
    folder = Path(run_dir) / CHECKPOINT_DIR
    try:
        state = json.loads((folder / STATE_JSON).read_text(encoding="utf-8"))
        step = int(state["step"])
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None
    files = state.get("files") if isinstance(state.get("files"), dict) else {}
    return CheckpointInfo(step, folder, str(files.get("model.safetensors", "")),
                          dict(state.get("train_config") or {}), dict(state.get("info") or {}))


class RunFollower:
    """Tails ``metrics.jsonl`` and watches the checkpoint and the snapshots of one folder."""

    def __init__(self, run_dir: str | os.PathLike) -> None:
        self.run_dir = Path(run_dir)
        self.state = "waiting"
        self.last_row: dict[str, Any] | None = None
        self.checkpoint: CheckpointInfo | None = None
        self.snapshots: list[SnapshotFile] = []
        self._offset = 0
        self._inode: int | None = None
        self._partial = b""
        self._gone = False
        self._owner_seen = False

    @property
    def metrics_path(self) -> Path:
        return self.run_dir / METRICS_FILE

    @property
    def total_steps(self) -> int | None:
        steps = self.checkpoint.train_config.get("steps") if self.checkpoint else None
        return int(steps) if isinstance(steps, int) else None

    # -- polling ---------------------------------------------------------------------
    def poll(self) -> FollowUpdate:
        update = FollowUpdate()
        if not self.run_dir.is_dir():
            if not self._gone:
                self._gone = True
                self.state = "gone"
                update.messages.append(
                    f"The run folder {self.run_dir} was deleted or moved: the window keeps "
                    "what it has shown and goes on watching for the folder.")
            return update
        if self._gone:
            self._gone = False
            self._reset()
            update.restarted = True
            update.messages.append(f"The run folder {self.run_dir} is back: reading it anew.")
        self._read_metrics(update)
        self._check_checkpoint(update)
        self._check_snapshots(update)
        self._check_process(update)
        return update

    def _reset(self) -> None:
        self._offset, self._inode, self._partial = 0, None, b""
        self.last_row, self.checkpoint, self.snapshots = None, None, []
        self.state = "waiting"

    def _read_metrics(self, update: FollowUpdate, again: bool = False) -> None:
        """New complete lines of metrics.jsonl. A rewritten file or a step that goes back
        (a resumed run trains again from its checkpoint) reads the whole file anew, each
        step that goes back dropping the rows from that step on: the curve as it is now."""
        try:
            with self.metrics_path.open("rb") as f:
                st = os.fstat(f.fileno())
                if self._inode is not None and (st.st_ino != self._inode
                                                or st.st_size < self._offset):
                    self._restart(update, "its metrics.jsonl was rewritten")
                self._inode = st.st_ino
                f.seek(self._offset)
                chunk = f.read(MAX_READ)
        except OSError:
            if self._inode is not None:  # the log went away: the run was cleared
                self._restart(update, "its metrics.jsonl was removed")
                self._inode = None
            return
        self._offset += len(chunk)
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()  # a line without its newline is still being written
        bad = 0
        for line in lines:
            if not line.strip():
                continue
            try:
                row = json.loads(line.decode("utf-8"))
                step = int(row["step"])
            except (ValueError, KeyError, TypeError, UnicodeDecodeError, AttributeError):
                bad += 1
                continue
            if self.last_row is not None and step <= int(self.last_row["step"]):
                if not again:
                    self._restart(update, f"it went back to step {step}")
                    self._read_metrics(update, again=True)
                    return
                update.rows = [r for r in update.rows if int(r["step"]) < step]
            update.rows.append(row)
            self.last_row = row
            if self.state in ("waiting", "stopped", "finished"):
                self.state = "running"
        if bad:
            update.messages.append(f"{self.metrics_path}: {bad} damaged line"
                                   f"{'s' if bad > 1 else ''} skipped.")

    def _restart(self, update: FollowUpdate, why: str) -> None:
        """Read the log from its start again; the rows of this poll so far are void."""
        if not update.restarted:
            update.messages.append(f"The run in {self.run_dir} restarted ({why}): its curves "
                                   "are drawn anew.")
        update.restarted = True
        update.rows = []
        self.last_row = None
        self._offset, self._partial = 0, b""

    def _check_checkpoint(self, update: FollowUpdate) -> None:
        info = read_checkpoint_info(self.run_dir)
        if info is None:
            return
        old = self.checkpoint
        if old is not None and (info.step, info.digest) == (old.step, old.digest):
            return
        if old is not None and info.step < old.step:
            update.messages.append(f"The run's checkpoint went back from step {old.step} to "
                                   f"step {info.step}: it was restarted.")
        self.checkpoint = info
        update.checkpoint = info

    def _check_snapshots(self, update: FollowUpdate) -> None:
        found = list_snapshots(self.run_dir)
        known = {s.path.name for s in self.snapshots}
        if len(found) < len(self.snapshots) or not known <= {s.path.name for s in found}:
            update.restarted = update.restarted or bool(self.snapshots)
            known = set()
        update.snapshots = [s for s in found if s.path.name not in known]
        self.snapshots = found

    def _owner_alive(self) -> bool | None:
        """True/False when ``.lock.owner`` names a process on this machine that is (not)
        running; None when there is no owner file or it names another machine."""
        try:
            owner = json.loads((self.run_dir / OWNER_FILE).read_text(encoding="utf-8"))
            pid, host = int(owner["pid"]), str(owner["host"])
        except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError):
            return None
        if host != socket.gethostname():
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except OSError:
            return True  # it exists (owned by another user)
        return True

    def _check_process(self, update: FollowUpdate) -> None:
        step = int(self.last_row["step"]) if self.last_row else 0
        total = self.total_steps
        if total is not None and step >= total:
            if self.state != "finished":
                self.state = "finished"
                update.messages.append(f"The run in {self.run_dir} finished at step {step}.")
            return
        alive = self._owner_alive()
        if alive:
            self._owner_seen = True
            if self.state == "stopped":
                self.state = "running"
            return
        stopped = alive is False or (alive is None and self._owner_seen)
        if stopped and self.state in ("running", "waiting") and self.last_row is not None:
            self.state = "stopped"
            kept = (f"; its last checkpoint is step {self.checkpoint.step}"
                    if self.checkpoint else "; it has no checkpoint")
            why = "its process is gone (crashed or killed)" if alive is False else \
                "no process writes it any more"
            update.messages.append(f"The run in {self.run_dir} stopped at step {step}: "
                                   f"{why}{kept}.")
