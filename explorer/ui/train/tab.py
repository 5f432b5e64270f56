"""The Train tab: the ``TrainPanel`` wired to the window through the panel protocol. Each
weights snapshot of a run goes to the inspector as new weights (``host.show_weights``), so
every view follows the training and keeps its state (the text, the step and head, the
interventions, text B); the run's first snapshot, when it trains another model than the
one shown, replaces it. A user who picks another model while it runs is asked whether to
stop the run first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer

from explorer.ui.train.panel import TrainPanel
from explorer.ui.widgets.panel import Panel, PanelHost
from explorer.ui.widgets.workers import TaskThread

RETRY_MS = 1500  # a checkpoint read while it was being replaced is read again this much later
RETRIES = 3


class TrainTab(Panel):
    title = "Train"
    tooltip = ("Train a small model live (Algorithms 11-13) and watch every view follow its "
               "weights")
    scene_views = ("train",)

    def __init__(self, panel: TrainPanel | None = None) -> None:
        super().__init__(panel if panel is not None else TrainPanel())
        self.following = False  # the inspector shows the run's weights as it trains
        self.view.weights_updated.connect(self._on_weights)
        self.view.training_started.connect(self._on_started)
        self.view.close_ready.connect(self._close_window)
        self.view.followed_checkpoint.connect(self.load_followed_checkpoint)
        self.view.followed_snapshot.connect(self.load_followed_snapshot)
        self.view.run_followed.connect(self._on_run_followed)
        self._loading: TaskThread | None = None
        self._waiting: tuple[str, int] | None = None  # the newest weights not yet loaded
        self._tries = 0

    def attach(self, host: PanelHost) -> None:
        super().attach(host)
        self.view.error_occurred.connect(host.show_error)

    def _on_started(self) -> None:
        self.following = True

    def _on_weights(self, snapshot: Any) -> None:
        """Show the model being trained: the inspector re-renders with the new weights."""
        if not self.following or self.host is None or self.host.session is None:
            return
        from explorer.state import LoadedModel

        label = f"training: step {snapshot.step} ({snapshot.task})"
        self.host.show_weights(LoadedModel(snapshot.model, snapshot.tokenizer, label,
                                           "training"), snapshot.step)

    # -- following a run another process writes ---------------------------------------
    def follow(self, path: str) -> bool:
        """Follow the run in ``path`` (File ▸ Follow a run…, ``--follow DIR``)."""
        return self.view.follow(path)

    def _on_run_followed(self, path: str) -> None:
        self.following = bool(path)
        if not path:
            self._waiting = None

    def load_followed_checkpoint(self, run_dir: str, step: int) -> None:
        """Load the followed run's newest checkpoint on a worker thread (verified, so a
        checkpoint caught mid-save is read again a moment later), then show it."""
        self._waiting, self._tries = (run_dir, step), 0
        self._load_next()

    def load_followed_snapshot(self, path: str, step: int) -> None:
        """A snapshot newer than the run's checkpoint (before the first one, or between
        two): its weights go to the inspector the same way."""
        self._waiting, self._tries = (path, step), 0
        self._load_next()

    def _load_next(self) -> None:
        if self._loading is not None or self._waiting is None or not self.following:
            return
        run_dir, step = self._waiting
        self._waiting = None

        def load(report):
            from explorer.state import LoadedModel, load_folder
            from explorer.train import read_checkpoint_state
            from explorer.train.snapshots import load_snapshot, snapshot_tokenizer

            if run_dir.endswith(".safetensors"):  # a weight snapshot
                run = Path(run_dir).parent.parent
                return LoadedModel(load_snapshot(run_dir), snapshot_tokenizer(run_dir),
                                   f"following {run.name}: snapshot at step {step}",
                                   "training"), step
            state = read_checkpoint_state(run_dir)  # every file's sha256 checked
            loaded = load_folder(state["folder"])
            loaded.label = f"following {Path(run_dir).name}: step {state['step']}"
            return loaded, int(state["step"])

        task = TaskThread(load, self.view)
        task.succeeded.connect(self._on_checkpoint_loaded)
        task.failed.connect(lambda message, _details: self._on_checkpoint_failed(
            run_dir, step, message))
        task.finished.connect(self._on_load_finished)
        self._loading = task
        task.start()

    def _on_load_finished(self) -> None:
        task, self._loading = self._loading, None
        if task is not None:
            task.deleteLater()
        self._load_next()

    def _on_checkpoint_loaded(self, loaded_step: Any) -> None:
        """The followed run's weights: new weights of the model shown, or its model."""
        loaded, step = loaded_step
        if self.following and self.host is not None and self.host.session is not None:
            self.host.show_weights(loaded, step)

    def _on_checkpoint_failed(self, run_dir: str, step: int, message: str) -> None:
        if not self.following:
            return
        self._tries += 1
        if self._tries < RETRIES:
            def again() -> None:
                if self._waiting is None:
                    self._waiting = (run_dir, step)
                self._load_next()

            QTimer.singleShot(RETRY_MS, self.view, again)
        elif self.host is not None:
            self.host.show_error(f"The followed run's weights at step {step} could not be "
                                 f"loaded: {message}")

    def may_replace_model(self, what: str) -> bool:
        """The user chose another model while the views follow a run: stop it (saved) and
        show the new model, or keep the run and the model it shows."""
        if self.following and self.view.is_following():
            run_dir = self.view.following.watch.run_dir
            if not self.view.ask("Following a run",
                                 f"The views follow the run in {run_dir}. "
                                 f"Stop following it and show {what}?"):
                return False
            self.view.stop_following()
            return True
        if not (self.following and self.view.is_training()):
            return True
        if not self.view.ask("Training is running",
                             f"The views follow the training run. Stop it (the run is "
                             f"saved) and show {what}?"):
            return False
        self.following = False
        self.view.stop()
        return True

    def confirm_close(self) -> bool:
        return self.view.confirm_close()

    def shutdown(self) -> None:
        self.following = False
        self._waiting = None
        self.view.shutdown()
        if self._loading is not None:
            self._loading.wait()

    def _close_window(self) -> None:
        self.view.window().close()
