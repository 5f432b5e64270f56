"""The main window: type a text, pick an architecture, step through every stage of the
forward pass with the paper's pseudocode beside it.

The window paints before torch is imported: ``start()`` then builds the model on a
``TaskThread`` and creates the ``explorer.state.Session``; every forward pass runs on the
``TraceRunner`` thread. Panels: ``add_panel(title, widget)`` adds a centre tab,
``add_dock(title, widget, area)`` a dock whose place is remembered.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QPaintEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QProgressBar,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from explorer.ui.heatmap_view import HeatmapWidget
from explorer.ui.input_panel import InputPanel
from explorer.ui.overview_view import OverviewWidget
from explorer.ui.presentation import install_lecture_features
from explorer.ui.pseudocode_view import PseudocodeWidget
from explorer.ui.settings import make_settings
from explorer.ui.step_list import StepListWidget
from explorer.ui.window_actions import build_menus, build_toolbars
from explorer.ui.workers import TaskThread, TraceRunner

if TYPE_CHECKING:
    from PySide6.QtCore import QSettings

    from explorer.state import LoadedModel, Session

DEBOUNCE_MS = 15
ARCH_NAMES = ("decoder", "encoder", "encoder-decoder")


class MainWindow(QMainWindow):
    """The Transformer Explorer window. Signals (past tense):

    - ``session_ready()``: the first model is loaded and ``self.session`` exists;
    - ``model_loaded(str)``: a model replaced the previous one (its label);
    - ``views_updated()``: every view shows the current trace and selection;
    - ``first_painted()``: the window painted for the first time;
    - ``error_shown(str)``: a message for the user appeared in the window.
    """

    session_ready = Signal()
    model_loaded = Signal(str)
    views_updated = Signal()
    first_painted = Signal()
    error_shown = Signal(str)

    def __init__(self, settings: QSettings | None = None, model_dir: str | None = None,
                 arch: str | None = None, text: str | None = None) -> None:
        super().__init__()
        self.settings = settings if settings is not None else make_settings()
        self.session: Session | None = None
        self._model_dir = model_dir
        self._arch = arch or str(self.settings.value("model/arch", "decoder"))
        if self._arch not in ARCH_NAMES:
            self._arch = "decoder"
        saved = self.settings.value("input/text", None)
        self._text = text if text is not None else (str(saved) if saved is not None else None)
        saved_context = self.settings.value("input/context", None)
        self._context = str(saved_context) if saved_context is not None else None
        self._tasks: list[TaskThread] = []
        self._painted = False
        self._closing = False
        self.trace_views: list[Any] = []  # objects with refresh(session) for each new trace
        self.selection_views: list[Any] = []  # ... and for each selection change
        self.setWindowTitle("Transformer Explorer")
        self.setObjectName("MainWindow")
        self._build()
        build_toolbars(self)
        build_menus(self)
        install_lecture_features(self)  # presentation mode, zoom, scenes, lectures, export
        self._restore_layout()
        self._runner = TraceRunner(self._run_request, self)
        self._runner.finished.connect(self._on_trace_recorded)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self._on_debounced_edit)

    # -- layout --------------------------------------------------------------------------
    def _build(self) -> None:
        self.heatmap = HeatmapWidget()
        self.heatmap.head_selected.connect(self._on_head_selected)
        self.banner = QLabel("")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background: #fff3cd; color: #5c4400; padding: 6px;"
                                  "border: 1px solid #e0c36a;")
        self.banner.setToolTip("A message about the input or the model")
        self.banner.hide()
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.heatmap, "Step")
        self.tabs.setTabToolTip(0, "The current step of the forward pass as a heatmap")
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

        self.tokens_view = self._make_tokens_view()
        self.inputs = InputPanel(self.tokens_view)
        self.inputs.text_edited.connect(self._on_text_edited)
        self.inputs.context_edited.connect(self._on_text_edited)
        self.inputs.chunk_selected.connect(lambda i: self._with_session("set_chunk", i))
        self.inputs.context_chunk_selected.connect(
            lambda i: self._with_session("set_chunk", i, True))
        self.inputs.escaped.connect(self.focus_steps)
        self.step_list = StepListWidget()
        self.step_list.step_selected.connect(lambda i: self._with_session("select_step", i))
        self.pseudocode = PseudocodeWidget()
        self.pseudocode.setMinimumWidth(330)
        self.step_list.setMinimumWidth(240)
        self.pseudocode.line_clicked.connect(
            lambda a, n: self._with_session("jump_to_line", a, n))
        self.overview = OverviewWidget()
        self.overview.step_selected.connect(lambda i: self._with_session("select_step", i))
        area = Qt.DockWidgetArea
        self.input_dock = self.add_dock("Input", self.inputs, area.TopDockWidgetArea)
        self.steps_dock = self.add_dock("Steps", self.step_list, area.LeftDockWidgetArea)
        self.overview_dock = self.add_dock("Overview", self.overview, area.LeftDockWidgetArea)
        self.paper_dock = self.add_dock("Paper", self.pseudocode, area.RightDockWidgetArea)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setMaximumWidth(260)
        self.progress.setToolTip("Loading")
        self.statusBar().addPermanentWidget(self.progress)
        self.progress.hide()

    def _make_tokens_view(self) -> QWidget | None:
        try:
            from explorer.ui.tokenization_view import TokenizationWidget
        except ImportError:
            return None
        view = TokenizationWidget()
        view.setMaximumHeight(180)
        view.tokenizer_changed.connect(self._on_tokenizer_chosen)
        return view

    def add_panel(self, title: str, widget: QWidget, tooltip: str = "") -> int:
        """Add a tab in the centre (after "Step"); returns its index."""
        index = self.tabs.addTab(widget, title)
        if tooltip:
            self.tabs.setTabToolTip(index, tooltip)
        return index

    def add_dock(self, title: str, widget: QWidget,
                 area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea
                 ) -> QDockWidget:
        """Add a dock (movable, closable, remembered by ``saveState``)."""
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{title.lower().replace(' ', '-')}")
        dock.setWidget(widget)
        dock.setToolTip(f"The {title} panel: drag its title to move it, or close it and "
                        "bring it back from the View menu")
        self.addDockWidget(area, dock)
        return dock

    def focus_steps(self) -> None:
        """Give the keyboard to the step-through (arrows step, digits jump to layers)."""
        self.heatmap.plot.setFocus()

    # -- loading models ------------------------------------------------------------------
    def start(self) -> None:
        """Load torch and the first model on a worker thread (call once, after show)."""
        model_dir, arch = self._model_dir, self._arch

        def load(report):
            report("Loading PyTorch…")
            import explorer.state as state

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

        def load(report):
            from explorer.state import default_model

            report(f"Building the {arch} model…")
            return default_model(arch)

        self._run_task(load, f"Building the {arch} model…")

    def open_model_folder(self, path: str) -> None:
        def load(report):
            from explorer.state import load_folder

            report(f"Opening {path}…")
            return load_folder(path)

        self._run_task(load, f"Opening {path}…")

    def new_model(self, arch: str, seed: int = 0, **sizes: Any) -> None:
        """A fresh seeded model of ``arch`` with the chosen sizes and variants."""
        tokenizer = self.session.tokenizer if self.session is not None else None

        def load(report):
            from explorer.state import random_model

            report(f"Building a new {arch} model…")
            return random_model(arch, seed, tokenizer, **sizes)

        self._run_task(load, f"Building a new {arch} model…")

    def _on_tokenizer_chosen(self, tokenizer: Any) -> None:
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

    def _on_model_loaded(self, loaded: LoadedModel) -> None:
        if self._closing:
            return
        if self.session is None:
            self._create_session(loaded)
        else:
            self.session.set_model(loaded)
            self.inputs.set_texts(self.session.text, self.session.context)
        self._set_model_label(f"{loaded.cfg.algorithm_name} · {loaded.label}")
        self.model_label.setToolTip(self._model_tip(loaded))
        self.arch_box.blockSignals(True)
        self.arch_box.setCurrentIndex(ARCH_NAMES.index(loaded.cfg.arch))
        self.arch_box.blockSignals(False)
        if self.tokens_view is not None:
            self.tokens_view.set_tokenizer(loaded.tokenizer)
            self.tokens_view.set_l_max(int(loaded.cfg.l_max))
        self.statusBar().showMessage(f"Model ready: {loaded.label}", 4000)
        warnings = [n for n in loaded.notes if "not meaningful" in n]
        if warnings:
            self.show_error("This model: " + "; ".join(warnings) + ".")
        self.model_loaded.emit(loaded.label)

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
        return (f"{cfg.algorithm_name} (Algorithm {cfg.algorithm}), {cfg.arch}\n"
                f"layers {cfg.n_layers}, heads {cfg.n_heads}, d_e {cfg.d_e}, "
                f"d_mlp {cfg.d_mlp}, ℓ_max {cfg.l_max}, N_V {cfg.vocab_size}\n"
                f"{cfg.norm} norm ({cfg.norm_placement}), {cfg.positions} positions, "
                f"{cfg.activation}\nparameters: {loaded.model.num_parameters():,}\n"
                f"{loaded.label}" + (f"\nfolder: {loaded.path}" if loaded.path else "")
                + "".join(f"\n· {n}" for n in loaded.notes))

    def _create_session(self, loaded: LoadedModel) -> None:
        from explorer.state import DEFAULT_CONTEXT, Session, default_text

        text = self._text if self._text is not None else default_text(loaded.cfg.arch)
        context = self._context if self._context is not None else DEFAULT_CONTEXT
        self.session = Session(loaded, text, context)
        self.inputs.set_texts(text, context)
        if self.tokens_view is not None:
            from explorer.state.defaults import corpus_lines

            self.tokens_view.set_corpus(corpus_lines())
        s = self.session
        s.model_changed.connect(self._on_model_changed)
        s.inputs_changed.connect(self._on_inputs_changed)
        s.trace_changed.connect(self._on_trace_changed)
        s.selection_changed.connect(self._on_selection_changed)
        s.message_changed.connect(self._on_message)
        self._on_model_changed()
        self._on_inputs_changed()
        self._add_late_panels()
        self.session_ready.emit()

    def _add_late_panels(self) -> None:
        """Panels that import torch are created once it is loaded."""
        from explorer.ui.panels import add_optional_panels

        add_optional_panels(self)

    # -- session events ------------------------------------------------------------------
    def _with_session(self, method: str, *args: Any) -> None:
        if self.session is not None:
            getattr(self.session, method)(*args)

    def _on_text_edited(self, _text: str = "") -> None:
        self._debounce.start()

    def _on_debounced_edit(self) -> None:
        if self.session is None:
            self._text = self.inputs.text.toPlainText()
            self._context = self.inputs.context.toPlainText()
            return
        self.session.set_text(self.inputs.text.toPlainText())
        self.session.set_context(self.inputs.context.toPlainText())

    def _on_model_changed(self) -> None:
        s = self.session
        self.inputs.set_context_visible(s.arch == "encoder-decoder")
        self.setWindowTitle(f"Transformer Explorer — {s.cfg.algorithm_name} · {s.loaded.label}")

    def _on_inputs_changed(self) -> None:
        s = self.session
        n_ctx = s.encoded_context.n_chunks if s.encoded_context is not None else None
        self.inputs.set_chunks(s.encoded.n_chunks, s.chunk, n_ctx, s.context_chunk,
                               s.input_note())
        if self.tokens_view is not None:
            self.tokens_view.set_text(s.text)
        self._runner.submit(s.request())

    def _run_request(self, request):
        from explorer.state import run_request

        return run_request(request)

    def _on_trace_recorded(self, result: Any) -> None:
        if self.session is None or self._closing:
            return
        if isinstance(result, BaseException):
            self.show_error(f"The forward pass failed: {result}")
            return
        self.session.apply(result)

    def _on_trace_changed(self) -> None:
        s = self.session
        self.step_list.set_steps(s.steps)
        self.overview.set_steps(s.steps, s.arch)
        for view in self.trace_views:
            view.refresh(s)
        self._on_selection_changed()

    def _on_selection_changed(self) -> None:
        from explorer.ui.step_data import heatmap_data

        s = self.session
        step = s.step
        if step is None:
            return
        self.heatmap.show_data(heatmap_data(s))
        n_layers = s.cfg.n_layers
        if step.stack == "encoder":
            n_layers = s.cfg.n_enc_layers or n_layers
        elif step.stack == "decoder":
            n_layers = s.cfg.n_dec_layers or n_layers
        self.pseudocode.show_step(step, n_layers)
        self.step_list.set_current(s.step_index)
        self.overview.set_current(s.step_index)
        self.step_counter.setText(f"Step {s.step_index + 1} / {len(s.steps)}")
        for view in self.selection_views:
            view.refresh_selection(s)
        self.views_updated.emit()

    def _on_head_selected(self, head: int) -> None:
        self._with_session("select_head", head)

    def _on_message(self, message: str) -> None:
        if message:
            self.show_error(message)
        else:
            self.banner.hide()

    def show_error(self, message: str) -> None:
        """Show ``message`` in the banner above the views (and the status bar)."""
        self.banner.setText(message)
        self.banner.show()
        self.statusBar().showMessage(message, 8000)
        self.error_shown.emit(message)

    # -- settings, painting, closing -----------------------------------------------------
    def _restore_layout(self) -> None:
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            self._default_size()
        if isinstance(state, QByteArray):
            self.restoreState(state)
        else:
            self._needs_dock_sizes = True

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        if getattr(self, "_needs_dock_sizes", False):
            self._needs_dock_sizes = False
            QTimer.singleShot(0, self._default_dock_sizes)

    def _default_dock_sizes(self) -> None:
        self.resizeDocks([self.input_dock], [int(self.height() * 0.21)],
                         Qt.Orientation.Vertical)
        width = max(self.width(), 1000)
        self.resizeDocks([self.steps_dock, self.paper_dock],
                         [int(width * 0.22), int(width * 0.3)], Qt.Orientation.Horizontal)
        self.resizeDocks([self.steps_dock, self.overview_dock], [3, 2],
                         Qt.Orientation.Vertical)

    def _default_size(self) -> None:
        """1280x800, or 90% of a larger screen (a 1920x1080 projector gets room)."""
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        if screen is None or screen.width() <= 1280 or screen.height() <= 800:
            self.resize(1280, 800)
            return
        self.resize(max(1280, int(screen.width() * 0.9)), max(800, int(screen.height() * 0.9)))

    def save_settings(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.setValue("input/text", self.inputs.text.toPlainText())
        self.settings.setValue("input/context", self.inputs.context.toPlainText())
        if self.session is not None:
            self.settings.setValue("model/arch", self.session.arch)
        self.settings.sync()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            self.first_paint_time = time.perf_counter()
            QTimer.singleShot(0, self.first_painted.emit)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        train = getattr(self, "train_panel", None)
        if train is not None and not train.confirm_close():
            event.ignore()
            return
        self._closing = True
        self.save_settings()
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Stop every worker thread and wait for it (idempotent)."""
        self._debounce.stop()
        self._runner.stop()
        for task in list(self._tasks):
            task.wait()
        if self.tokens_view is not None:
            self.tokens_view.close()
        for view in (*self.trace_views, *self.selection_views):
            stop = getattr(view, "shutdown", None)
            if stop is not None:
                stop()
