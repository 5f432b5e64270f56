"""The step-through: the Step tab's heatmap (with the norm's inside), the step list, the
overview and the paper's pseudocode, all showing the session's selected step
(``window.step_view``; the window keeps its widgets as ``heatmap``, ``norm_inside``,
``step_list``, ``overview`` and ``pseudocode``)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMainWindow, QMenu

from explorer.ui.inspect.heatmap_view import HeatmapWidget
from explorer.ui.inspect.norm_inside_bar import NormInsideBar
from explorer.ui.inspect.overview_view import OverviewWidget
from explorer.ui.inspect.pseudocode_view import PseudocodeWidget
from explorer.ui.inspect.step_list import StepListWidget


def is_norm_step(name: str) -> bool:
    """Whether step ``name`` is a norm (imported when asked: ``explorer.trace`` loads torch,
    and the window paints before torch is imported)."""
    from explorer.trace.norm_inside import is_norm_step as norm_step

    return norm_step(name)

class StepView(QObject):
    """The step views of ``window`` (its ``session``, ``with_session`` and messages)."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.overview_menu: QMenu | None = None  # the overview's last right-click menu
        self.heatmap = HeatmapWidget()
        self.heatmap.head_selected.connect(self._on_head_selected)
        self.norm_inside = NormInsideBar()
        self.norm_inside.part_selected.connect(self._on_inside_selected)
        self.norm_inside.hide()
        self.heatmap.add_toolbar_row(self.norm_inside)
        self.step_list = StepListWidget()
        self.step_list.step_selected.connect(lambda i: window.with_session("select_step", i))
        self.pseudocode = PseudocodeWidget()
        self.pseudocode.setMinimumWidth(330)
        self.step_list.setMinimumWidth(240)
        self.pseudocode.line_clicked.connect(
            lambda a, n: window.with_session("jump_to_line", a, n))
        self.overview = OverviewWidget()
        self.overview.step_selected.connect(lambda i: window.with_session("select_step", i))
        self.overview.context_requested.connect(self._on_overview_menu)

    def focus(self) -> None:
        """Give the keyboard to the step-through (arrows step, digits jump to layers)."""
        self.heatmap.plot.setFocus()

    def layer_choices(self, index: int) -> list[tuple[str, Any]]:
        """What a right click on the overview's box of step ``index`` offers: ablating
        that layer's attention or MLP (issue 16), as (text, action) pairs."""
        from explorer.analysis import AblateAttention, AblateMLP
        from explorer.state.interventions import stack_of

        s = self.window.session
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
        self.overview_menu = QMenu(self.window)
        for text, run in choices:
            self.overview_menu.addAction(text).triggered.connect(
                lambda _=False, run=run: run())
        self.overview_menu.popup(where)

    def show_steps(self, s) -> None:
        """The session's steps (a new trace)."""
        self.step_list.set_steps(s.steps)
        self.overview.set_steps(s.steps, s.arch)

    def show_selection(self, s) -> None:
        """The session's selected step ``s.step`` (not None) in every step view."""
        from explorer.state.step_data import heatmap_data

        step = s.step
        self.heatmap.show_data(heatmap_data(s))
        self.heatmap.set_kv_note(s.kv_note if step.per_head else "")
        self.norm_inside.reset()
        self.norm_inside.setVisible(is_norm_step(step.name))
        self.pseudocode.show_step(step, self._layers_of(step))
        self.step_list.set_current(s.step_index)
        self.overview.set_current(s.step_index)

    def _layers_of(self, step) -> int:
        """The layer count of the step's stack (the config resolves both stacks' counts)."""
        cfg = self.window.session.cfg
        return {"encoder": cfg.n_enc_layers, "decoder": cfg.n_dec_layers}.get(step.stack,
                                                                               cfg.n_layers)

    def _on_inside_selected(self, part: str) -> None:
        """Show one line's values of the selected norm step (Algorithm 6), with that line
        highlighted in the Paper panel."""
        from explorer.state.step_data import heatmap_data, inside_data

        s = self.window.session
        if s is None or s.step is None or not is_norm_step(s.step.name):
            return
        if part == "output":
            self.heatmap.show_data(heatmap_data(s))
            self.pseudocode.show_step(s.step, self._layers_of(s.step))
            return
        try:
            data = inside_data(s, part)
        except ValueError as exc:
            self.window.show_error(f"The inside of this norm cannot be shown: {exc}")
            return
        self.heatmap.show_data(data)
        self.pseudocode.inner.highlight(data.step.line)

    def next_inside_part(self) -> None:
        """I: on a norm step, the next line of Algorithm 6's inside."""
        s = self.window.session
        if s is not None and s.step is not None and is_norm_step(s.step.name):
            self.norm_inside.next_part()

    def _on_head_selected(self, head: int) -> None:
        self.window.with_session("select_head", head)
