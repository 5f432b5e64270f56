"""Loading models on worker threads, with progress, and the toolbar's model label. A mixin
of ``MainWindow``: every load runs on a ``TaskThread`` and ends in ``_on_model_loaded``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt

from explorer.ui.widgets.workers import TaskThread

if TYPE_CHECKING:
    from explorer.state import LoadedModel

ARCH_NAMES = ("decoder", "encoder", "encoder-decoder")


class ModelLoading:
    """Expects ``session``, ``arch_box``, ``model_label``, ``progress`` and
    ``_on_model_loaded`` of ``MainWindow``."""

    def start(self) -> None:
        """Load torch and the first model on a worker thread (call once, after show)."""
        model_dir, arch = self._model_dir, self._arch

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
            self.show_error(f"Unknown architecture {arch!r}.")
            return
        if not self._may_replace_model(f"the {arch} model"):
            return

        def load(report):
            from explorer.state import default_model

            report(f"Building the {arch} model…")
            return default_model(arch)

        self._run_task(load, f"Building the {arch} model…")

    def open_model_folder(self, path: str) -> None:
        if not self._may_replace_model(f"the model in {path}"):
            return

        def load(report):
            from explorer.state import load_folder

            report(f"Opening {path}…")
            return load_folder(path)

        self._run_task(load, f"Opening {path}…")

    def new_model(self, arch: str, seed: int = 0, **sizes: Any) -> None:
        """A fresh seeded model of ``arch`` with the chosen sizes and variants."""
        if not self._may_replace_model(f"a new {arch} model"):
            return
        tokenizer = self.session.tokenizer if self.session is not None else None

        def load(report):
            from explorer.state import random_model

            report(f"Building a new {arch} model…")
            return random_model(arch, seed, tokenizer, **sizes)

        self._run_task(load, f"Building a new {arch} model…")

    def _on_tokenizer_chosen(self, tokenizer: Any) -> None:
        if not self._may_replace_model("a model for the new tokenizer"):
            return
        arch = self.session.arch if self.session is not None else self._arch
        sizes = {}
        if self.session is not None:
            cfg = self.session.cfg
            sizes = {k: getattr(cfg, k) for k in ("d_e", "n_heads", "n_layers", "l_max")}

        def load(report):
            from explorer.state import random_model

            report("Building a model for the new tokenizer…")
            loaded = random_model(arch, 0, tokenizer, **sizes)
            loaded.label += f", {getattr(tokenizer, 'name', 'new')} tokenizer"
            return loaded

        self._run_task(load, "Building a model for the new tokenizer…")

    def _may_replace_model(self, what: str) -> bool:
        """Every panel agrees that the model shown may be replaced by ``what``; if one does
        not (a training run the views follow), the architecture picker shows the model that
        stays, never silently another."""
        if all(panel.may_replace_model(what) for panel in self.panels):
            return True
        if self.session is not None:
            self.arch_box.setCurrentIndex(ARCH_NAMES.index(self.session.arch))
        self.show_status("Kept the model being trained: the run goes on.", 5000)
        return False

    def _run_task(self, fn, what: str) -> None:
        task = TaskThread(fn, self)
        task.progress.connect(self._on_progress)
        task.succeeded.connect(self._on_model_loaded)
        task.failed.connect(self._on_task_failed)
        task.finished.connect(lambda t=task: self._forget_task(t))
        self._tasks.append(task)
        self._on_progress(what)
        self.arch_box.setEnabled(False)
        task.start()

    def _forget_task(self, task: TaskThread) -> None:
        if task in self._tasks:
            self._tasks.remove(task)
            task.deleteLater()
        if not self._tasks:
            self.progress.hide()
            self.arch_box.setEnabled(True)

    def _on_progress(self, text: str) -> None:
        self.progress.show()
        self.progress.setFormat(text)
        self.statusBar().showMessage(text)

    def _on_task_failed(self, message: str, details: str) -> None:
        self.show_error(f"Could not load the model: {message}")
        self.statusBar().showMessage("Loading failed", 5000)

    def _set_model_label(self, text: str | None = None) -> None:
        """Elided to the width the toolbar has beside the architecture picker, so it never
        drops into the toolbar's overflow menu (the tooltip has it all)."""
        if text is None:
            text = self.model_label.property("full_text") or self.model_label.text()
        self.model_label.setProperty("full_text", text)
        room = max(320, self.width() - self.arch_box.width() - 160)
        metrics = self.model_label.fontMetrics()
        self.model_label.setText(metrics.elidedText(text, Qt.TextElideMode.ElideMiddle, room))

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        if self.model_label.property("full_text"):
            self._set_model_label()

    @staticmethod
    def _model_tip(loaded: LoadedModel) -> str:
        cfg = loaded.cfg
        if cfg.arch == "encoder-decoder":
            stacks = []
            for stack, layers in (("encoder", cfg.n_enc_layers), ("decoder", cfg.n_dec_layers)):
                sizes = cfg.stack_sizes(stack)
                stacks.append(f"{stack}: {layers} layers, {sizes['n_heads']} "
                              f"heads, d_mlp {sizes['d_mlp']}")
            shape = "; ".join(stacks) + f"; d_e {cfg.d_e}"
        else:
            shape = (f"layers {cfg.n_layers}, heads {cfg.n_heads}, d_e {cfg.d_e}, "
                     f"d_mlp {cfg.d_mlp}")
        if cfg.n_kv_heads != cfg.n_heads:
            shape += f", {cfg.n_kv_heads} key/value heads (grouped-query)"
        return (f"{cfg.algorithm_name} (Algorithm {cfg.algorithm}), {cfg.arch}\n"
                f"{shape}, ℓ_max {cfg.l_max}, N_V {cfg.vocab_size}\n"
                f"{cfg.norm} norm ({cfg.norm_placement}), {cfg.positions} positions, "
                f"{cfg.activation}\nparameters: {loaded.model.num_parameters():,}\n"
                f"{loaded.label}" + (f"\nfolder: {loaded.path}" if loaded.path else "")
                + "".join(f"\n· {n}" for n in loaded.notes))

