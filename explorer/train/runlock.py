"""One writer per run folder: an operating-system lock on ``DIR/.lock``.

The lock is ``filelock``'s exclusive file lock (``flock`` on Unix, ``LockFileEx`` on
Windows): the kernel grants it to exactly one open file at a time and drops it when
the holder exits or dies, so there is no stale lock to guess about and nobody but the
holder can release it. ``DIR/.lock.owner`` says who holds it, for the message only.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

LOCK_FILE = ".lock"
OWNER_FILE = ".lock.owner"


class RunLocked(ValueError):
    """Another run is writing to the same folder."""


_HELD: dict[Path, RunLock] = {}


class RunLock:
    """``DIR/.lock``: acquire() raises RunLocked while another run (any process) holds it."""

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory).resolve()
        self.path = self.directory / LOCK_FILE
        self.held = False
        self._lock: FileLock | None = None

    def acquire(self) -> RunLock:
        if self.directory in _HELD:
            raise RunLocked(f"{self.directory} is already used by a run in this program")
        self.directory.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.path), timeout=0, thread_local=False)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            owner = self._owner()
            who = f" (pid {owner.get('pid')} on {owner.get('host')})" if owner else ""
            raise RunLocked(
                f"{self.directory} is in use by another run{who}; wait for it to finish "
                "or choose another folder"
            ) from None
        self._lock, self.held = lock, True
        _HELD[self.directory] = self
        me = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}
        try:  # only for the message another run shows; the lock does not depend on it
            (self.directory / OWNER_FILE).write_text(json.dumps(me), encoding="utf-8")
        except OSError:
            pass
        return self

    def _owner(self) -> dict[str, Any]:
        try:
            data = json.loads((self.directory / OWNER_FILE).read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def release(self) -> None:
        """Give the lock up (only ever this holder's; never raises, e.g. on a read-only
        folder, where the lock file simply stays: it holds no lock by itself)."""
        if not self.held:
            return
        _HELD.pop(self.directory, None)
        self.held = False
        try:
            (self.directory / OWNER_FILE).unlink(missing_ok=True)
        except OSError:
            pass
        lock, self._lock = self._lock, None
        if lock is not None:
            try:
                lock.release(force=True)
            except OSError:
                pass

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
