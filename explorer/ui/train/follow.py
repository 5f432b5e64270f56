"""Following a run folder from the Train tab: a file watcher with a polling fallback around
``explorer.state.follow.RunFollower`` (read-only: nothing is written into the folder).

``RunWatch(run_dir)`` emits ``updated(FollowUpdate)`` on the GUI thread whenever the folder
changed: at once when the file watcher fires (local disks), otherwise within
``POLL_MS`` (shared filesystems, where change notices may never come).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from explorer.state.follow import FollowUpdate, RunFollower
from explorer.train import StepResult
from explorer.train.progress import format_duration, format_rate

POLL_MS = 1000
SETTLE_MS = 60  # a burst of change notices becomes one poll


def step_result(row: dict[str, Any]) -> StepResult:
    """A metrics.jsonl row as the ``StepResult`` the curves draw (missing numbers are 0)."""
    number = {k: float(row.get(k) or 0.0) for k in
              ("loss", "lr", "grad_norm", "tokens_per_s", "elapsed_s", "eta_s")}
    optional = {k: float(row[k]) if isinstance(row.get(k), (int, float)) else None
                for k in ("val_loss", "train_accuracy", "val_accuracy")}
    return StepResult(step=int(row["step"]), tokens=int(row.get("tokens") or 0),
                      precision=row.get("precision"), **number, **optional)


class RunWatch(QObject):
    """Watches one run folder; ``stop()`` ends it."""

    updated = Signal(object)  # FollowUpdate

    def __init__(self, run_dir: str | Path, parent: QObject | None = None,
                 poll_ms: int = POLL_MS) -> None:
        super().__init__(parent)
        self.follower = RunFollower(run_dir)
        self._watcher = QFileSystemWatcher(self)
        self._watcher.directoryChanged.connect(self._soon)
        self._watcher.fileChanged.connect(self._soon)
        self._settle = QTimer(self, singleShot=True, interval=SETTLE_MS)
        self._settle.timeout.connect(self.poll)
        self._timer = QTimer(self, interval=poll_ms)
        self._timer.timeout.connect(self.poll)
        self._timer.start()
        QTimer.singleShot(0, self.poll)

    @property
    def run_dir(self) -> Path:
        return self.follower.run_dir

    def _soon(self, _path: str = "") -> None:
        self._settle.start()

    def _watch(self) -> None:
        """(Re)watch the folder, its log and its subfolders: a replaced file or folder
        drops out of the watcher, so this runs after every poll."""
        d = self.run_dir
        wanted = [str(p) for p in (d, d / "metrics.jsonl", d / "checkpoint", d / "snapshots")
                  if p.exists()]
        have = set(self._watcher.files()) | set(self._watcher.directories())
        missing = [p for p in wanted if p not in have]
        if missing:
            self._watcher.addPaths(missing)

    def poll(self) -> FollowUpdate:
        update = self.follower.poll()
        self._watch()
        if not update.empty:
            self.updated.emit(update)
        return update

    def stop(self) -> None:
        self._timer.stop()
        self._settle.stop()
        paths = self._watcher.files() + self._watcher.directories()
        if paths:
            self._watcher.removePaths(paths)


def _model_text(run_dir: Path) -> str:
    """'DTransformer · d_e 64 · 2 layers · 4 heads' from the run's config.json, or ''."""
    from explorer.core.serialization import read_config

    for folder in (run_dir / "checkpoint", run_dir / "snapshots"):
        try:
            cfg = read_config(folder)
        except (ValueError, OSError):
            continue
        return (f"{cfg.algorithm_name} · d_e {cfg.d_e} · {cfg.n_layers} layers · "
                f"{cfg.n_heads} heads · ℓ_max {cfg.l_max} · N_V {cfg.vocab_size}")
    return ""


class RunFollowing(QObject):
    """Shows a run another process writes in ``panel`` (a ``TrainPanel``: its curves,
    progress bar, labels and messages), read-only: ``panel.following``. The panel's
    ``run_followed``, ``followed_checkpoint``, ``followed_snapshot(s)`` tell the others."""

    def __init__(self, panel: QWidget) -> None:
        super().__init__(panel)
        self.panel = panel
        self.watch: RunWatch | None = None  # while following a run
        self._followed_text = ""

    def is_following(self) -> bool:
        return self.watch is not None

    def follow(self, path: str | Path) -> bool:
        """Show the run in ``path`` live (curves, rate, ETA, config; its checkpoints go to
        the inspector through ``followed_checkpoint``). False, with a message, if not."""
        p = self.panel
        path = Path(path)
        if p.is_training():
            p.show_message("A run is training in this window: stop it before following "
                           "another one.")
            return False
        if not path.is_dir():
            p.show_message(f"{path}: no such folder, so there is no run to follow.")
            return False
        if not any((path / n).exists() for n in ("metrics.jsonl", "checkpoint", "snapshots")):
            p.show_message(f"{path} is not a run folder (no metrics.jsonl, checkpoint/ or "
                           "snapshots/ in it).")
            return False
        self.stop()
        p.form.reset_curves()
        p.show_message("")
        p.form.show_oom_actions(False)
        p.form.progress.setRange(0, 1)
        p.form.progress.setValue(0)
        p.form.progress.setFormat(f"following {path.name}: waiting for its first step…")
        p.form.device_label.setText(f"Following {path} (read-only)")
        p.form.sample_view.setPlainText("")
        self.watch = RunWatch(path, self)
        self.watch.updated.connect(self._on_followed)
        p.form.show_training_parts(False)  # the followed run's own settings are shown instead
        p.update_buttons()
        p.run_followed.emit(str(path))
        return True

    def stop(self) -> None:
        p = self.panel
        watch, self.watch = self.watch, None
        if watch is None:
            return
        watch.stop()
        watch.deleteLater()
        p.form.show_training_parts(True)
        p.form.progress.setFormat(p.form.progress.format().split(" · ")[0] + " · not followed")
        p.update_buttons()
        p.run_followed.emit("")

    def choose(self) -> None:
        p = self.panel
        if self.is_following():
            self.stop()
            return
        path = QFileDialog.getExistingDirectory(p, "Follow a run folder", str(p.runs_dir))
        if path:
            self.follow(path)

    def _on_followed(self, update: FollowUpdate) -> None:
        p = self.panel
        watch = self.watch
        if watch is None:
            return
        follower = watch.follower
        if update.restarted:
            p.form.reset_curves()
        if update.rows:
            results = [step_result(r) for r in update.rows]
            p.form.add_results(results)
        p.form.curves.redraw()
        self._show_followed_progress(follower)
        if update.checkpoint is not None or update.restarted or not self._followed_text:
            self._show_followed_config(follower)
        if update.messages:
            bad = follower.state in ("gone", "stopped")
            p.show_message(" ".join(update.messages), error=bad)
        if update.checkpoint is not None:
            p.followed_checkpoint.emit(str(watch.run_dir), update.checkpoint.step)
        newest = update.snapshots[-1] if update.snapshots else None
        if newest is not None and newest.step > (follower.checkpoint.step
                                                 if follower.checkpoint else -1):
            p.followed_snapshot.emit(str(newest.path), newest.step)
        if update.snapshots or update.restarted:
            p.followed_snapshots.emit(str(watch.run_dir))

    def _show_followed_progress(self, follower: RunFollower) -> None:
        p = self.panel
        row = follower.last_row
        name = follower.run_dir.name
        if row is None:
            p.form.progress.setRange(0, 1)
            p.form.progress.setValue(0)
            p.form.progress.setFormat(f"following {name}: waiting for its first step…")
            return
        r = step_result(row)
        total = follower.total_steps
        p.form.progress.setRange(0, max(total or r.step, r.step, 1))
        p.form.progress.setValue(r.step)
        last_val = p.form.last_val
        val = f" · val {last_val:.3f}" if last_val is not None else ""
        of = f" / {total:,}" if total else ""
        when = {"running": f"{format_duration(r.eta_s)} left", "finished": "finished",
                "stopped": "stopped", "gone": "folder gone"}.get(follower.state, "")
        # (the run's name is on the line below: the bar keeps to one line at 1280x720)
        p.form.progress.setFormat(f"step {r.step:,}{of} · loss {r.loss:.3f}"
                             f"{val} · {format_rate(r.tokens_per_s)} · {when}")

    def _show_followed_config(self, follower: RunFollower) -> None:
        p = self.panel
        lines = [f"Following {follower.run_dir} (read-only)"]
        model = _model_text(follower.run_dir)
        if model:
            lines.append(model)
        ckpt = follower.checkpoint
        if ckpt is not None:
            c = ckpt.train_config
            lines.append(f"task {c.get('task')} · batch {c.get('batch_size')} · lr "
                         f"{c.get('lr')} · {c.get('steps'):,} steps · snapshots every "
                         f"{c.get('snapshot_every') or '–'} · checkpoint at step {ckpt.step:,}"
                         if isinstance(c.get("steps"), int) else
                         f"checkpoint at step {ckpt.step:,}")
        self._followed_text = "\n".join(lines)
        p.form.device_label.setText(self._followed_text)
