"""The main window: type a text, pick an architecture, step through the forward pass.

It paints before torch is imported: ``start()`` then builds the model on a ``TaskThread``
and creates the ``explorer.state.Session``; forward passes run on the ``TraceRunner``. The
tabs after "Step" are ``Panel`` objects (``explorer.ui.widgets.panel``) made by
``panel_factory`` once torch is loaded (default: ``compose.default_panels``), called through
the panel protocol; the window is their ``PanelHost``. Its parts: ``loading`` (models),
``tracing`` (edits, forward passes), ``hosting`` (panels), ``layout_ctl`` (layout, settings),
``compact`` (small screens), ``toolbars``, ``menus``, ``presentation``, ``scenes``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QPaintEvent, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from explorer.ui.inspect.input_panel import InputPanel
from explorer.ui.lecture.presentation import PresentationController, SceneController
from explorer.ui.tokens.view import TokenizationWidget
from explorer.ui.widgets.panel import Panel
from explorer.ui.window.archs import ARCH_NAMES
from explorer.ui.window.compact import CompactLayout
from explorer.ui.window.hosting import PanelHosting, default_panels
from explorer.ui.window.layout import WindowLayout
from explorer.ui.window.loading import ModelLoader
from explorer.ui.window.menus import build_menus, build_toolbars
from explorer.ui.window.settings import NOTE_KEY, make_settings
from explorer.ui.window.step_view import StepView
from explorer.ui.window.tracing import Tracing

if TYPE_CHECKING:
    from PySide6.QtCore import QSettings

    from explorer.state import LoadedModel, Session


class MainWindow(QMainWindow):
    """The Transformer Explorer window. Signals (past tense):

    - ``session_ready()``: the first model is loaded and ``self.session`` exists;
    - ``model_loaded(str)``: a model replaced the previous one (its label);
    - ``weights_loaded(str)``: the model shown has new weights (training; their label);
    - ``views_updated()``: every view shows the current trace and selection;
    - ``first_painted()``: the window painted for the first time;
    - ``error_shown(str)``: a message for the user appeared in the window.
    """

    session_ready = Signal()
    model_loaded = Signal(str)
    weights_loaded = Signal(str)
    views_updated = Signal()
    first_painted = Signal()
    error_shown = Signal(str)

    def __init__(self, settings: QSettings | None = None, model_dir: str | None = None,
                 arch: str | None = None, text: str | None = None,
                 panel_factory: Callable[[], list[Panel]] | None = None,
                 follow: str | None = None) -> None:
        super().__init__()
        self.settings = settings if settings is not None else make_settings()
        self.session: Session | None = None
        arch = arch or str(self.settings.value("model/arch", "decoder"))
        if arch not in ARCH_NAMES:
            arch = "decoder"
        saved = self.settings.value("input/text", None)
        text = text if text is not None else (str(saved) if saved is not None else None)
        saved_context = self.settings.value("input/context", None)
        context = str(saved_context) if saved_context is not None else None
        self._settings_note = str(self.settings.value(NOTE_KEY, "") or "")
        self._painted = False
        self.closing = False
        self.panels: list[Panel] = []  # the tabs after "Step", once torch is loaded
        self.setWindowTitle("Transformer Explorer")
        self.setObjectName("MainWindow")
        self.loading = ModelLoader(self, model_dir, arch)
        self.loading.loaded.connect(self.show_loaded_model)
        self.tracing = Tracing(self, text, context)
        self.layout_ctl = WindowLayout(self)
        self._build(panel_factory or default_panels, follow)
        self.toolbars = build_toolbars(self)
        self.menus = build_menus(self, self.toolbars)
        # Presentation mode, zoom, scenes, lectures, export; small screens.
        self.presentation = PresentationController(self)
        self.scenes = SceneController(self, self.presentation)
        self.compact = CompactLayout(self)
        layout_note = self.layout_ctl.restore()
        if layout_note:
            self._settings_note = " ".join(n for n in (self._settings_note, layout_note) if n)
        self.layout_ctl.restore_compare()
        self.inputs.compare_shown.connect(self.menus.compare_action.setChecked)

    # -- layout --------------------------------------------------------------------------
    def _build(self, panel_factory: Callable[[], list[Panel]], follow: str | None) -> None:
        self.step_view = StepView(self)
        views = self.step_view
        self.heatmap, self.norm_inside, self.overview = views.heatmap, views.norm_inside, \
            views.overview
        self.step_list, self.pseudocode = views.step_list, views.pseudocode
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

        self.tokens_view = TokenizationWidget()
        self.tokens_view.setMaximumHeight(180)
        self.tokens_view.tokenizer_changed.connect(self.loading.choose_tokenizer)
        self.inputs = InputPanel(self.tokens_view)
        self.inputs.text_edited.connect(self.tracing.text_edited)
        self.inputs.context_edited.connect(self.tracing.text_edited)
        self.inputs.compare_edited.connect(self.tracing.text_edited)
        self.inputs.chunk_selected.connect(lambda i: self.with_session("set_chunk", i))
        self.inputs.context_chunk_selected.connect(
            lambda i: self.with_session("set_chunk", i, True))
        self.inputs.escaped.connect(self.focus_steps)
        area = Qt.DockWidgetArea
        self.input_dock = self.add_dock("Input", self.inputs, area.TopDockWidgetArea)
        self.steps_dock = self.add_dock("Steps", self.step_list, area.LeftDockWidgetArea)
        self.overview_dock = self.add_dock("Overview", self.overview, area.LeftDockWidgetArea)
        self.paper_dock = self.add_dock("Paper", self.pseudocode, area.RightDockWidgetArea)
        self.hosting = PanelHosting(self, panel_factory, follow)
        self.inputs.text_edited.connect(self.hosting.text_edited)
        self.statusBar().addPermanentWidget(self.loading.progress)
        self.loading.progress.hide()

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
        self.step_view.focus()

    def show_loaded_model(self, loaded: LoadedModel) -> None:
        """Show ``loaded`` (a load finished): the first session, or a new model in it."""
        if self.closing:
            return
        if self.session is None:
            self._create_session(loaded)
        else:
            self.session.set_model(loaded)
            self.inputs.set_texts(self.session.text, self.session.context)
        self.toolbars.model_label.set_model(loaded, self._model_label_room())
        arch_box = self.toolbars.arch_box
        arch_box.blockSignals(True)
        arch_box.setCurrentIndex(ARCH_NAMES.index(loaded.cfg.arch))
        arch_box.blockSignals(False)
        self.tokens_view.set_tokenizer(loaded.tokenizer)
        self.tokens_view.set_l_max(int(loaded.cfg.l_max))
        self.statusBar().showMessage(f"Model ready: {loaded.label}", 4000)
        warnings = [n for n in loaded.notes if "not meaningful" in n]
        if warnings:
            self.show_error("This model: " + "; ".join(warnings) + ".")
        if loaded.problems:
            self.show_error(" ".join(loaded.problems))
        for panel in self.panels:
            panel.model_changed(self.session)
        self.model_loaded.emit(loaded.label)

    def _create_session(self, loaded: LoadedModel) -> None:
        from explorer.state import DEFAULT_CONTEXT, Session, default_text

        text, context = (self.input_texts() if self.tracing.edit_pending()  # typed just now
                         else (self.tracing.first_text, self.tracing.first_context))
        text = text if text is not None else default_text(loaded.cfg.arch)
        context = context if context is not None else DEFAULT_CONTEXT
        self.session = Session(loaded, text, context)
        self.inputs.set_texts(text, context)
        from explorer.state.defaults import corpus_lines

        self.tokens_view.set_corpus(corpus_lines())
        s = self.session
        s.model_changed.connect(self._on_model_changed)
        s.weights_changed.connect(self._on_weights_changed)
        s.inputs_changed.connect(self._on_inputs_changed)
        s.interventions_changed.connect(self._on_interventions_changed)
        s.trace_changed.connect(self._on_trace_changed)
        s.selection_changed.connect(self._on_selection_changed)
        s.message_changed.connect(self._on_message)
        s.compare.changed.connect(self._on_compare_changed)
        s.compare.set_text(self.inputs.compare_text())
        self._on_model_changed()
        self._on_inputs_changed()
        self.hosting.add_late_panels()
        if self.hosting.follow_dir:
            self.hosting.follow_run(self.hosting.follow_dir)
        if self._settings_note:
            self.show_error(self._settings_note)
        self.session_ready.emit()

    # -- session events ------------------------------------------------------------------
    def with_session(self, method: str, *args: Any) -> None:
        """Call the session's ``method`` (nothing before the first model is loaded)."""
        if self.session is not None:
            getattr(self.session, method)(*args)

    def _on_model_changed(self) -> None:
        s = self.session
        self.inputs.set_context_visible(s.arch == "encoder-decoder")
        self.pseudocode.set_model_config(s.cfg)
        self.setWindowTitle(f"Transformer Explorer — {s.cfg.algorithm_name} · {s.loaded.label}")

    def _on_inputs_changed(self) -> None:
        s = self.session
        self.tracing.record()  # first: the worker records while the rest draws
        self.tracing.record_compare()
        self._show_input_note()
        same = s.tokenizer is self.tokens_view.tokenizer()  # then tokenised once, here
        self.tokens_view.set_text(s.text, s.encoded.encoding if same else None)

    def _show_input_note(self) -> None:
        """The chunk selectors and the sentence on what is fed (text, context, text B)."""
        s = self.session
        n_ctx = s.encoded_context.n_chunks if s.encoded_context is not None else None
        note = " · ".join(n for n in (s.input_note(), s.compare.note()) if n)
        self.inputs.set_chunks(s.encoded.n_chunks, s.chunk, n_ctx, s.context_chunk, note)

    def _on_compare_changed(self) -> None:
        """Text B was set, recorded or cleared: record it if due, tell the tabs."""
        s = self.session
        if s is None or self.closing:
            return
        self.tracing.record_compare()
        self._show_input_note()
        if s.compare.error:
            self.show_error(s.compare.error)
        self.hosting.refresh("compare")

    def _on_interventions_changed(self) -> None:
        self.tracing.record()  # the intervened (or clean) run

    def _on_trace_changed(self) -> None:
        self.tracing.traced()
        self.step_view.show_steps(self.session)
        self.hosting.refresh("trace")
        self._on_selection_changed(panels=False)

    def _on_selection_changed(self, panels: bool = True) -> None:
        s = self.session
        if s.step is None:
            return
        self.step_view.show_selection(s)
        self.toolbars.step_counter.setText(f"Step {s.step_index + 1} / {len(s.steps)}")
        if panels:
            self.hosting.refresh("selection")
        self.views_updated.emit()

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

    # -- what panels may ask (PanelHost) -------------------------------------------------
    def panel(self, title: str) -> Panel:
        """The tab titled ``title`` (KeyError if there is none)."""
        return self.hosting.panel(title)

    def show_status(self, message: str, ms: int = 4000) -> None:
        self.statusBar().showMessage(message, ms)

    def show_model(self, loaded: LoadedModel) -> None:
        """Put ``loaded`` in the inspector, as if it had been opened."""
        if self.session is not None:
            self.show_loaded_model(loaded)

    def show_weights(self, loaded: LoadedModel, step: int | None = None) -> None:
        """New weights for the inspector (a training snapshot at ``step``): the same model
        (``Session.same_model``) keeps everything and follows them; another one is shown
        as a new model."""
        s = self.session
        if s is None or self.closing:
            return
        if s.same_model(loaded):
            s.set_weights(loaded, step)
        else:
            self.show_loaded_model(loaded)

    def _on_weights_changed(self) -> None:
        """The session's model has new weights: record A and B again (with the
        interventions), name the weights, and let each panel update in place."""
        s = self.session
        if s is None or self.closing:
            return
        self.tracing.record()
        self.tracing.record_compare()
        loaded = s.loaded
        self.toolbars.model_label.set_model(loaded, self._model_label_room())
        self.setWindowTitle(f"Transformer Explorer — {loaded.cfg.algorithm_name} · "
                            f"{loaded.label}")
        for panel in self.panels:
            panel.weights_changed(s)
        self.weights_loaded.emit(loaded.label)

    def input_texts(self) -> tuple[str, str]:
        return self.inputs.text.toPlainText(), self.inputs.context.toPlainText()

    def set_input_text(self, text: str) -> None:
        self.inputs.text.setPlainText(text)

    def show_tab(self, title: str) -> None:
        if title == "Step":
            self.tabs.setCurrentIndex(0)
            return
        dock = self.hosting.panel_docks.get(title)
        if dock is not None:
            dock.show()
            dock.raise_()
            return
        self.tabs.setCurrentWidget(self.panel(title).widget)

    def show_token_loss(self, values: dict[int, float] | None, ids: dict[int, int],
                        objective: str) -> None:
        self.tokens_view.set_token_shading(values, ids, objective)

    # -- painting, sizes, closing --------------------------------------------------------
    def start(self) -> None:
        """Load torch and the first model on a worker thread (call once, after show)."""
        self.loading.start()

    def painted(self) -> bool:
        """The window painted once (``first_paint_time`` is then set)."""
        return self._painted

    def _model_label_room(self) -> int:
        """The width the toolbar has for the model label, beside the architecture picker."""
        return max(320, self.width() - self.toolbars.arch_box.width() - 160)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        if self.toolbars.model_label.property("full_text"):
            self.toolbars.model_label.set_text(None, self._model_label_room())

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        if self.layout_ctl.needs_dock_sizes:
            self.layout_ctl.needs_dock_sizes = False
            QTimer.singleShot(0, self.layout_ctl.default_dock_sizes)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            self.first_paint_time = time.perf_counter()
            QTimer.singleShot(0, self.first_painted.emit)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        if not all(panel.confirm_close() for panel in self.panels):
            event.ignore()
            return
        self.closing = True
        self.layout_ctl.save_settings()
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Stop every worker thread and wait for it (idempotent)."""
        self.tracing.stop()
        self.loading.wait()
        self.tokens_view.close()
        for panel in self.panels:
            panel.shutdown()
