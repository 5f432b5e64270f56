"""Loading models on worker threads, with progress: ``window.loading``. Every load runs on a
``TaskThread`` and ends in ``loaded`` (the window shows the model)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMainWindow, QProgressBar

from explorer.ui.widgets.workers import TaskThread
from explorer.ui.window.archs import ARCH_NAMES


class ModelLoader(QObject):
    """Loads models for ``window`` (its ``session``, ``panels``, ``toolbars.arch_box`` and
    messages), with a ``progress`` bar for its status bar. Signal: ``loaded(LoadedModel)``,
    a load succeeded."""

    loaded = Signal(object)

    def __init__(self, window: QMainWindow, model_dir: str | None, arch: str) -> None:
        super().__init__(window)
        self.window = window
        self.model_dir = model_dir
        self.arch = arch  # the architecture of the first model
        self.tasks: list[TaskThread] = []
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setMaximumWidth(260)
        self.progress.setToolTip("Loading")

    def wait(self) -> None:
        """Wait for every load under way (closing)."""
        for task in list(self.tasks):
            task.wait()

    def start(self) -> None:
        """Load torch and the first model on a worker thread (call once, after show)."""
        model_dir, arch = self.model_dir, self.arch

        def load(report):
            report("Loading PyTorch…")
            import explorer.state as state

            state.allocator.tune()  # large blocks reused, not mapped afresh per keystroke

            if model_dir:
                report(f"Opening {model_dir}…")
                loaded = state.load_folder(model_dir)
            else:
                report(f"Building the default {arch} model…")
                loaded = state.default_model(arch)
            report("Warming up the forward pass…")
            z = (0, 1) if loaded.cfg.arch == "encoder-decoder" else None
            state.run_request(state.TraceRequest(0, loaded.model, (0, 1), z))
            return loaded

        self._run_task(load, "Loading PyTorch and the model…")

    def set_architecture(self, arch: str) -> None:
        """Show a fresh (or the bundled trained) model of ``arch``; the text is kept."""
        if arch not in ARCH_NAMES:
            self.window.show_error(f"Unknown architecture {arch!r}.")
            return
        if not self.may_replace_model(f"the {arch} model"):
            return

        def load(report):
            from explorer.state import default_model

            report(f"Building the {arch} model…")
            return default_model(arch)

        self._run_task(load, f"Building the {arch} model…")

    def open_model_folder(self, path: str) -> None:
        if not self.may_replace_model(f"the model in {path}"):
            return

        def load(report):
            from explorer.state import load_folder

            report(f"Opening {path}…")
            return load_folder(path)

        self._run_task(load, f"Opening {path}…")

    def new_model(self, arch: str, seed: int = 0, **sizes: Any) -> None:
        """A fresh seeded model of ``arch`` with the chosen sizes and variants."""
        if not self.may_replace_model(f"a new {arch} model"):
            return
        tokenizer = self.window.session.tokenizer if self.window.session is not None else None

        def load(report):
            from explorer.state import random_model

            report(f"Building a new {arch} model…")
            return random_model(arch, seed, tokenizer, **sizes)

        self._run_task(load, f"Building a new {arch} model…")

    def choose_tokenizer(self, tokenizer: Any) -> None:
        if not self.may_replace_model("a model for the new tokenizer"):
            return
        arch = self.window.session.arch if self.window.session is not None else self.arch
        sizes = {}
        if self.window.session is not None:
            cfg = self.window.session.cfg
            sizes = {k: getattr(cfg, k) for k in ("d_e", "n_heads", "n_layers", "l_max")}

        def load(report):
            from explorer.state import random_model

            report("Building a model for the new tokenizer…")
            loaded = random_model(arch, 0, tokenizer, **sizes)
            loaded.label += f", {getattr(tokenizer, 'name', 'new')} tokenizer"
            return loaded

        self._run_task(load, "Building a model for the new tokenizer…")

    def may_replace_model(self, what: str) -> bool:
        """Every panel agrees that the model shown may be replaced by ``what``; if one does
        not (a training run the views follow), the architecture picker shows the model that
        stays, never silently another."""
        if all(panel.may_replace_model(what) for panel in self.window.panels):
            return True
        session = self.window.session
        if session is not None:
            self.window.toolbars.arch_box.setCurrentIndex(ARCH_NAMES.index(session.arch))
        self.window.show_status("Kept the model being trained: the run goes on.", 5000)
        return False

    def _run_task(self, fn, what: str) -> None:
        task = TaskThread(fn, self.window)
        task.progress.connect(self._on_progress)
        task.succeeded.connect(self._on_loaded)
        task.failed.connect(self._on_task_failed)
        task.finished.connect(lambda t=task: self._forget_task(t))
        self.tasks.append(task)
        self._on_progress(what)
        self.window.toolbars.arch_box.setEnabled(False)
        task.start()

    def _on_loaded(self, loaded: Any) -> None:
        self.loaded.emit(loaded)

    def _forget_task(self, task: TaskThread) -> None:
        if task in self.tasks:
            self.tasks.remove(task)
            task.deleteLater()
        if not self.tasks:
            self.progress.hide()
            self.window.toolbars.arch_box.setEnabled(True)

    def _on_progress(self, text: str) -> None:
        self.progress.show()
        self.progress.setFormat(text)
        self.window.statusBar().showMessage(text)

    def _on_task_failed(self, message: str, details: str) -> None:
        self.window.show_error(f"Could not load the model: {message}")
        self.window.statusBar().showMessage("Loading failed", 5000)
