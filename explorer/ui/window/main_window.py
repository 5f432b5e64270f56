"""The main window: type a text, pick an architecture, step through every stage of the
forward pass with the paper's pseudocode beside it.

The window paints before torch is imported: ``start()`` then builds the model on a
``TaskThread`` and creates the ``explorer.state.Session``; every forward pass runs on the
``TraceRunner`` thread. The tabs after "Step" are ``Panel`` objects
(``explorer.ui.widgets.panel``) made by ``panel_factory`` once torch is loaded (default:
``compose.default_panels``); the window calls them through the panel protocol and is the
``PanelHost`` they talk back to. Layout and settings: ``layout.WindowLayout``; loading
models on worker threads: ``loading.ModelLoading``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QPaintEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QMenu,
    QProgressBar,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from explorer.ui.inspect.heatmap_view import HeatmapWidget
from explorer.ui.inspect.input_panel import InputPanel
from explorer.ui.inspect.norm_inside_bar import NormInsideBar
from explorer.ui.inspect.overview_view import OverviewWidget
from explorer.ui.inspect.pseudocode_view import PseudocodeWidget
from explorer.ui.inspect.step_list import StepListWidget
from explorer.ui.lecture.presentation import install_lecture_features
from explorer.ui.tokens.view import TokenizationWidget
from explorer.ui.widgets.panel import Panel
from explorer.ui.widgets.workers import TaskThread, TraceRunner
from explorer.ui.window.hosting import PanelHosting
from explorer.ui.window.layout import WindowLayout
from explorer.ui.window.loading import ARCH_NAMES, ModelLoading
from explorer.ui.window.menus import build_menus, build_toolbars
from explorer.ui.window.settings import NOTE_KEY, make_settings

if TYPE_CHECKING:
    from PySide6.QtCore import QSettings

    from explorer.state import LoadedModel, Session

def is_norm_step(name: str) -> bool:
    """Whether step ``name`` is a norm (imported when asked: ``explorer.trace`` loads torch,
    and the window paints before torch is imported)."""
    from explorer.trace.norm_inside import is_norm_step as norm_step

    return norm_step(name)


def _default_panels() -> list[Panel]:
    """Every feature package's panel (imported once torch is loaded: the panels use it)."""
    from explorer.ui.window.compose import default_panels

    return default_panels()


DEBOUNCE_MS = 15
IDLE_TRIM_MS = 3000  # a pause this long after the last trace hands freed memory back


class MainWindow(PanelHosting, ModelLoading, WindowLayout, QMainWindow):
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
        self._panel_factory = panel_factory or _default_panels
        self.settings = settings if settings is not None else make_settings()
        self.session: Session | None = None
        self._model_dir = model_dir
        self._follow_dir = follow  # a run folder to follow once the tabs exist
        self._arch = arch or str(self.settings.value("model/arch", "decoder"))
        if self._arch not in ARCH_NAMES:
            self._arch = "decoder"
        saved = self.settings.value("input/text", None)
        self._text = text if text is not None else (str(saved) if saved is not None else None)
        saved_context = self.settings.value("input/context", None)
        self._context = str(saved_context) if saved_context is not None else None
        self._settings_note = str(self.settings.value(NOTE_KEY, "") or "")
        self._tasks: list[TaskThread] = []
        self._painted = False
        self._closing = False
        self.panels: list[Panel] = []  # the tabs after "Step", once torch is loaded
        self.setWindowTitle("Transformer Explorer")
        self.setObjectName("MainWindow")
        self._build()
        build_toolbars(self)
        build_menus(self)
        install_lecture_features(self)  # presentation mode, zoom, scenes, lectures, export
        layout_note = self._restore_layout()
        if layout_note:
            self._settings_note = " ".join(n for n in (self._settings_note, layout_note) if n)
        self._runner = TraceRunner(self._run_request, self)
        self._runner.finished.connect(self._on_trace_recorded)
        self._compare_runner = TraceRunner(self._run_request, self)  # text B, beside A's
        self._compare_runner.finished.connect(self._on_compare_recorded)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self._on_debounce_timeout)
        self._edit_waiting = False
        # Once the user pauses, the memory freed while typing goes back to the system
        # (``explorer.state.allocator``: large blocks stay in the heap for reuse meanwhile).
        self._idle = QTimer(self)
        self._idle.setSingleShot(True)
        self._idle.setInterval(IDLE_TRIM_MS)
        self._idle.timeout.connect(self._on_idle)
        # Text B as it was left; no edit signal yet (the text boxes fill with the session).
        self.inputs.blockSignals(True)
        self.inputs.set_compare(str(self.settings.value("input/compare", "") or ""))
        shown = str(self.settings.value("input/compare_shown", "false")).lower() == "true"
        self.inputs.set_compare_visible(shown)
        self.inputs.blockSignals(False)
        self.compare_action.setChecked(shown)
        self.inputs.compare_shown.connect(self.compare_action.setChecked)

    # -- layout --------------------------------------------------------------------------
    def _build(self) -> None:
        self.heatmap = HeatmapWidget()
        self.heatmap.head_selected.connect(self._on_head_selected)
        self.norm_inside = NormInsideBar()
        self.norm_inside.part_selected.connect(self._on_inside_selected)
        self.norm_inside.hide()
        self.heatmap.add_toolbar_row(self.norm_inside)
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
        self.tokens_view.tokenizer_changed.connect(self._on_tokenizer_chosen)
        self.inputs = InputPanel(self.tokens_view)
        self.inputs.text_edited.connect(self._on_text_edited)
        self.inputs.text_edited.connect(self._tell_panels_text_edited)
        self.inputs.context_edited.connect(self._on_text_edited)
        self.inputs.compare_edited.connect(self._on_text_edited)
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
        self.overview.context_requested.connect(self._on_overview_menu)
        area = Qt.DockWidgetArea
        self.input_dock = self.add_dock("Input", self.inputs, area.TopDockWidgetArea)
        self.steps_dock = self.add_dock("Steps", self.step_list, area.LeftDockWidgetArea)
        self.overview_dock = self.add_dock("Overview", self.overview, area.LeftDockWidgetArea)
        self.paper_dock = self.add_dock("Paper", self.pseudocode, area.RightDockWidgetArea)
        self._build_panel_docks()
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setMaximumWidth(260)
        self.progress.setToolTip("Loading")
        self.statusBar().addPermanentWidget(self.progress)
        self.progress.hide()

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

        text = self._text if self._text is not None else default_text(loaded.cfg.arch)
        context = self._context if self._context is not None else DEFAULT_CONTEXT
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
        self._add_late_panels()
        if self._follow_dir:
            self.follow_run(self._follow_dir)
        if self._settings_note:
            self.show_error(self._settings_note)
        self.session_ready.emit()

    # -- session events ------------------------------------------------------------------
    def _with_session(self, method: str, *args: Any) -> None:
        if self.session is not None:
            getattr(self.session, method)(*args)

    def _on_text_edited(self, _text: str = "") -> None:
        """An edit is taken at once (the trace starts while the key is still down); edits
        that follow within ``DEBOUNCE_MS`` (a paste, key repeat, a scene setting both
        texts) are taken together when that time is up."""
        if self._debounce.isActive():
            self._edit_waiting = True
            return
        self._on_debounced_edit()
        self._debounce.start()

    def _on_debounce_timeout(self) -> None:
        if self._edit_waiting:
            self._edit_waiting = False
            self._on_debounced_edit()

    def edit_pending(self) -> bool:
        """An edit the session has not taken yet."""
        return self._edit_waiting

    def typing(self) -> bool:
        """An edit waits or its trace is being recorded."""
        return self._edit_waiting or not self._runner.idle()

    def _on_debounced_edit(self) -> None:
        if self.session is None:
            self._text = self.inputs.text.toPlainText()
            self._context = self.inputs.context.toPlainText()
            return
        self.session.set_text(self.inputs.text.toPlainText())
        self.session.set_context(self.inputs.context.toPlainText())
        self.session.compare.set_text(self.inputs.compare_text())

    def _on_model_changed(self) -> None:
        s = self.session
        self.inputs.set_context_visible(s.arch == "encoder-decoder")
        self.pseudocode.set_model_config(s.cfg)
        self.setWindowTitle(f"Transformer Explorer — {s.cfg.algorithm_name} · {s.loaded.label}")

    def _on_inputs_changed(self) -> None:
        s = self.session
        self._runner.submit(s.request())  # first: the worker records while the rest draws
        self._compare_runner.submit(s.compare.request())
        self._show_input_note()
        same = s.tokenizer is self.tokens_view.tokenizer()  # then tokenised once, here
        self.tokens_view.set_text(s.text, s.encoded.encoding if same else None)

    def layer_choices(self, index: int) -> list[tuple[str, Any]]:
        """What a right click on the overview's box of step ``index`` offers: ablating
        that layer's attention or MLP (issue 16), as (text, action) pairs."""
        from explorer.analysis import AblateAttention, AblateMLP
        from explorer.state.interventions import stack_of

        s = self.session
        if s is None or not 0 <= index < len(s.steps):
            return []
        step = s.steps[index]
        if step.layer is None or step.block not in ("attn", "mlp"):
            return []
        stack = stack_of(step.name)
        where = f"{stack} layer" if stack else "layer"
        kind, make = (("attention", AblateAttention) if step.block == "attn"
                      else ("MLP", AblateMLP))
        return [(f"Zero-ablate the {kind} of {where} {step.layer + 1}",
                 lambda: s.add_intervention(make(step.layer, "zero", stack=stack))),
                (f"Mean-ablate the {kind} of {where} {step.layer + 1}",
                 lambda: s.add_intervention(make(step.layer, "mean", stack=stack)))]

    def _on_overview_menu(self, index: int, where) -> None:
        choices = self.layer_choices(index)
        if not choices:
            return
        self.overview_menu = QMenu(self)
        for text, run in choices:
            self.overview_menu.addAction(text).triggered.connect(
                lambda _=False, run=run: run())
        self.overview_menu.popup(where)

    def _show_input_note(self) -> None:
        """The chunk selectors and the sentence on what is fed (text, context, text B)."""
        s = self.session
        n_ctx = s.encoded_context.n_chunks if s.encoded_context is not None else None
        note = " · ".join(n for n in (s.input_note(), s.compare.note()) if n)
        self.inputs.set_chunks(s.encoded.n_chunks, s.chunk, n_ctx, s.context_chunk, note)

    def _on_compare_changed(self) -> None:
        """Text B was set, recorded or cleared: record it if due, tell the tabs."""
        s = self.session
        if s is None or self._closing:
            return
        self._compare_runner.submit(s.compare.request())
        self._show_input_note()
        if s.compare.error:
            self.show_error(s.compare.error)
        self._refresh_panels("compare")

    def _on_compare_recorded(self, result: Any) -> None:
        self._take_result(result, "on text B", lambda s: s.compare.apply)

    def _on_interventions_changed(self) -> None:
        self._runner.submit(self.session.request())  # the intervened (or clean) run

    def _run_request(self, request):
        from explorer.state import run_request

        return run_request(request)

    def _on_trace_recorded(self, result: Any) -> None:
        self._take_result(result, "", lambda s: s.apply)

    def _take_result(self, result: Any, which: str, apply) -> None:
        """A recorded trace (or the exception a worker raised) for the session."""
        if self.session is None or self._closing:
            return
        if isinstance(result, BaseException):
            self.show_error(" ".join(filter(None, ("The forward pass", which, "failed:")))
                            + f" {result}")
            return
        apply(self.session)(result)

    def _on_idle(self) -> None:
        from explorer.state import allocator

        if self.typing():
            self._idle.start()
        else:
            allocator.trim()

    def _on_trace_changed(self) -> None:
        self._idle.start()
        s = self.session
        self.step_list.set_steps(s.steps)
        self.overview.set_steps(s.steps, s.arch)
        self._refresh_panels("trace")
        self._on_selection_changed(panels=False)

    def _on_selection_changed(self, panels: bool = True) -> None:
        from explorer.state.step_data import heatmap_data

        s = self.session
        step = s.step
        if step is None:
            return
        self.heatmap.show_data(heatmap_data(s))
        self.heatmap.set_kv_note(s.kv_note if step.per_head else "")
        self.norm_inside.reset()
        self.norm_inside.setVisible(is_norm_step(step.name))
        self.pseudocode.show_step(step, self._layers_of(step))
        self.step_list.set_current(s.step_index)
        self.overview.set_current(s.step_index)
        self.step_counter.setText(f"Step {s.step_index + 1} / {len(s.steps)}")
        if panels:
            self._refresh_panels("selection")
        self.views_updated.emit()

    def _layers_of(self, step) -> int:
        """The layer count of the step's stack (the config resolves both stacks' counts)."""
        cfg = self.session.cfg
        return {"encoder": cfg.n_enc_layers, "decoder": cfg.n_dec_layers}.get(step.stack,
                                                                               cfg.n_layers)

    def _on_inside_selected(self, part: str) -> None:
        """Show one line's values of the selected norm step (Algorithm 6), with that line
        highlighted in the Paper panel."""
        from explorer.state.step_data import heatmap_data, inside_data

        s = self.session
        if s is None or s.step is None or not is_norm_step(s.step.name):
            return
        if part == "output":
            self.heatmap.show_data(heatmap_data(s))
            self.pseudocode.show_step(s.step, self._layers_of(s.step))
            return
        try:
            data = inside_data(s, part)
        except ValueError as exc:
            self.show_error(f"The inside of this norm cannot be shown: {exc}")
            return
        self.heatmap.show_data(data)
        self.pseudocode.inner.highlight(data.step.line)

    def next_inside_part(self) -> None:
        """I: on a norm step, the next line of Algorithm 6's inside."""
        s = self.session
        if s is not None and s.step is not None and is_norm_step(s.step.name):
            self.norm_inside.next_part()

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

    # -- painting, closing ---------------------------------------------------------------
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
        self._closing = True
        self.save_settings()
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Stop every worker thread and wait for it (idempotent)."""
        self._debounce.stop()
        self._idle.stop()
        self._edit_waiting = False
        self._runner.stop()
        self._compare_runner.stop()
        for task in list(self._tasks):
            task.wait()
        self.tokens_view.close()
        for panel in self.panels:
            panel.shutdown()
