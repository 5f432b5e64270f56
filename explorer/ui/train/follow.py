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
from PySide6.QtWidgets import QFileDialog

from explorer.state.follow import FollowUpdate, RunFollower
from explorer.train import StepResult
from explorer.train.progress import format_duration, format_rate

POLL_MS = 1000
SETTLE_MS = 60  # a burst of change notices becomes one poll


def step_result(row: dict[str, Any]) -> StepResult:
    """A metrics.jsonl row as the ``StepResult`` the curves draw (missing numbers are 0)."""
    number = {k: float(row.get(k) or 0.0) for k in
              ("loss", "lr", "grad_norm", "tokens_per_s", "elapsed_s", "eta_s")}
    val = row.get("val_loss")
    return StepResult(step=int(row["step"]), tokens=int(row.get("tokens") or 0),
                      val_loss=float(val) if isinstance(val, (int, float)) else None,
                      precision=row.get("precision"), **number)


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


class FollowingPanel:
    """A mixin of ``TrainPanel``: show a run another process writes, read-only."""

    def is_following(self) -> bool:
        return self._watch is not None

    def follow(self, path: str | Path) -> bool:
        """Show the run in ``path`` live (curves, rate, ETA, config; its checkpoints go to
        the inspector through ``followed_checkpoint``). False, with a message, if not."""
        path = Path(path)
        if self.is_training():
            self._show_message("A run is training in this window: stop it before following "
                               "another one.")
            return False
        if not path.is_dir():
            self._show_message(f"{path}: no such folder, so there is no run to follow.")
            return False
        if not any((path / n).exists() for n in ("metrics.jsonl", "checkpoint", "snapshots")):
            self._show_message(f"{path} is not a run folder (no metrics.jsonl, checkpoint/ or "
                               "snapshots/ in it).")
            return False
        self.stop_following()
        self.curves.reset()
        self._last_val = None
        self._show_message("")
        self._show_oom_actions(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat(f"following {path.name}: waiting for its first step…")
        self.device_label.setText(f"Following {path} (read-only)")
        self.sample_view.setPlainText("")
        self._watch = RunWatch(path, self)
        self._watch.updated.connect(self._on_followed)
        self._show_training_parts(False)  # the followed run's own settings are shown instead
        self._update_buttons()
        self.run_followed.emit(str(path))
        return True

    def stop_following(self) -> None:
        watch, self._watch = self._watch, None
        if watch is None:
            return
        watch.stop()
        watch.deleteLater()
        self._show_training_parts(True)
        self.progress.setFormat(self.progress.format().split(" · ")[0] + " · not followed")
        self._update_buttons()
        self.run_followed.emit("")

    def _show_training_parts(self, visible: bool) -> None:
        """This window's own run settings, buttons and samples: hidden while following, so
        the followed run's settings and curves have the room."""
        for w in (self.settings_box, self.start_button, self.pause_button, self.stop_button,
                  self.save_button, self.resume_button, self.sample_label, self.sample_view):
            w.setVisible(visible)

    def _on_follow_clicked(self) -> None:
        if self.is_following():
            self.stop_following()
            return
        path = QFileDialog.getExistingDirectory(self, "Follow a run folder", str(self.runs_dir))
        if path:
            self.follow(path)

    def _on_followed(self, update: FollowUpdate) -> None:
        watch = self._watch
        if watch is None:
            return
        follower = watch.follower
        if update.restarted:
            self.curves.reset()
            self._last_val = None
        if update.rows:
            results = [step_result(r) for r in update.rows]
            self.curves.append(results)
            self._last_val = next((r.val_loss for r in reversed(results)
                                   if r.val_loss is not None), self._last_val)
        self.curves.redraw()
        self._show_followed_progress(follower)
        if update.checkpoint is not None or update.restarted or not self._followed_text:
            self._show_followed_config(follower)
        if update.messages:
            bad = follower.state in ("gone", "stopped")
            self._show_message(" ".join(update.messages), error=bad)
        if update.checkpoint is not None:
            self.followed_checkpoint.emit(str(watch.run_dir), update.checkpoint.step)
        newest = update.snapshots[-1] if update.snapshots else None
        if newest is not None and newest.step > (follower.checkpoint.step
                                                 if follower.checkpoint else -1):
            self.followed_snapshot.emit(str(newest.path), newest.step)
        if update.snapshots or update.restarted:
            self.followed_snapshots.emit(str(watch.run_dir))

    def _show_followed_progress(self, follower: RunFollower) -> None:
        row = follower.last_row
        name = follower.run_dir.name
        if row is None:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.progress.setFormat(f"following {name}: waiting for its first step…")
            return
        r = step_result(row)
        total = follower.total_steps
        self.progress.setRange(0, max(total or r.step, r.step, 1))
        self.progress.setValue(r.step)
        val = f" · val {self._last_val:.3f}" if self._last_val is not None else ""
        of = f" / {total:,}" if total else ""
        when = {"running": f"{format_duration(r.eta_s)} left", "finished": "finished",
                "stopped": "stopped", "gone": "folder gone"}.get(follower.state, "")
        # (the run's name is on the line below: the bar keeps to one line at 1280x720)
        self.progress.setFormat(f"step {r.step:,}{of} · loss {r.loss:.3f}"
                                f"{val} · {format_rate(r.tokens_per_s)} · {when}")

    def _show_followed_config(self, follower: RunFollower) -> None:
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
        self.device_label.setText(self._followed_text)
