"""Building one view of a scene without a window (the ``render`` command), filled the same
way the window fills it. Knows every feature's views, so it lives with the window's
composition.

``build_view(session, scene) -> QWidget``: the view ``scene.view`` (one of ``RENDER_VIEWS``)
of an ``explorer.state.Session`` that has a trace, for the scene's layer, head and options
(``explorer.state.scene.attention_prefix`` picks the attention, as the window does).
``RUN_VIEWS`` show a training run, not a model: ``build_run_view(scene, text)`` draws the
run in ``scene.view_options["run"]`` (a folder ``transformer-explorer train --out`` wrote):
its loss curves (``train``), or one weight snapshot's frame of the time-lapse (``timelapse``:
``view_options`` ``step``, ``layer``, ``head`` or "induction", ``view``, as in the window).
``SYNC_VIEWS`` show several models: ``build_architectures_view(scene)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QRectF
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QWidget

from explorer.state.attention_data import AttentionSite
from explorer.state.scene import attention_prefix
from explorer.state.step_data import heatmap_data, vocabulary_labels
from explorer.state.timelapse import TimeLapseRun
from explorer.train.progress import read_history
from explorer.ui.architectures.panel import show_sync
from explorer.ui.architectures.view import SideBySideWidget
from explorer.ui.attention.head_grid import HeadGridWidget
from explorer.ui.attention.views import AttentionPanel
from explorer.ui.circuit.panel import circuit_scene_view
from explorer.ui.inspect.heatmap_view import HeatmapWidget
from explorer.ui.output.view import OutputDistributionWidget
from explorer.ui.timelapse.paint import VIEWS as FRAME_VIEWS
from explorer.ui.timelapse.paint import paint_frame
from explorer.ui.train.plots import TrainCurves
from explorer.ui.widgets.export_parts import Caption, ViewParts, curve_series

MODEL_VIEWS = ("step", "attention", "heads", "lines", "output", "circuit")
RUN_VIEWS = ("train", "timelapse")
SYNC_VIEWS = ("architectures",)  # several models side by side: the scene's model is not used
RENDER_VIEWS = MODEL_VIEWS + RUN_VIEWS + SYNC_VIEWS


def check_renderable(scene: Any) -> None:
    """ValueError unless ``render`` can draw the scene's view, saying why."""
    if scene.view not in RENDER_VIEWS:
        raise ValueError(f"unknown view {scene.view!r}; choose one of {', '.join(RENDER_VIEWS)}")
    if scene.view in RUN_VIEWS and not scene.view_options.get("run"):
        raise ValueError(f"the view {scene.view!r} shows a training run: name its folder in "
                         "the scene's view_options as \"run\" (a folder written by "
                         "`transformer-explorer train --out DIR`; --snapshot-every N for the "
                         "time-lapse). A scene that trains when it is opened needs the window")


class FrameWidget(QWidget):
    """One time-lapse frame, painted at the widget's size (vectors in an SVG)."""

    def __init__(self, frame: Any, view: str, steps: list[int], losses: list[float]) -> None:
        super().__init__()
        self.frame, self.view, self.steps, self.losses = frame, view, steps, losses

    def paintEvent(self, event: Any) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        try:
            paint_frame(painter, QRectF(self.rect()), self.frame, self.view, self.steps,
                        self.losses)
        finally:
            painter.end()

    def export_parts(self) -> ViewParts:
        return ViewParts(self, Caption(f"Time-lapse · step {self.frame.step}"), None)


class RunCurves(TrainCurves):
    """A run's loss, learning-rate and gradient-norm curves, captioned with its folder."""

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title = title

    def export_parts(self) -> ViewParts:
        return ViewParts(self, Caption(self.title), None, curve_series(self))


def build_run_view(scene: Any, text: str) -> QWidget:
    """The training run's view (``RUN_VIEWS``) of ``scene`` on ``text``."""
    check_renderable(scene)
    options, run_dir = scene.view_options, Path(scene.view_options["run"])
    if not run_dir.is_dir():
        raise ValueError(f"{run_dir}: no such run folder")
    if scene.view == "train":
        history = read_history(run_dir)
        if not history.step:
            raise ValueError(f"{run_dir}: the run has logged no step yet")
        curves = RunCurves(f"Training curves · {run_dir.name}")
        curves.load_history(history)
        return curves
    run = TimeLapseRun(run_dir)
    if not run.snapshots:
        raise ValueError(f"{run_dir}: the run kept no weight snapshots (train it with "
                         "--snapshot-every N)")
    snapshot = run.snapshots[run.index_of(int(options["step"])) if "step" in options else -1]
    if options.get("head") == "induction":
        layer, head = run.strongest_induction_head(text, snapshot)
    else:
        layer, head = int(options.get("layer", 0)), int(options.get("head", 0))
    frame = run.frame(snapshot, text, layer, head)
    view = options.get("view", "both")
    return FrameWidget(frame, view if view in FRAME_VIEWS else "both", run.steps, run.losses)


def build_architectures_view(scene: Any) -> QWidget:
    """The side-by-side slide: the models of ``view_options["models"]`` (default: the
    bundled decoder, encoder and encoder-decoder) on the scene's text, one column each at
    the line ``view_options["line"]``, above the pseudocode diff."""
    from explorer.state.architectures import (
        SideBySide,
        apply_options,
        default_models,
        models_from_options,
    )

    options = scene.view_options
    models = models_from_options(options) or default_models()
    sync = SideBySide(models, scene.text, scene.context)
    apply_options(sync, options, scene.layer, scene.head)
    view = SideBySideWidget(HeatmapWidget)
    show_sync(view, sync)
    view.set_slide()
    return view


def build_view(session: Any, scene: Any) -> QWidget:
    """The scene's view filled from ``session`` (which must hold a trace)."""
    check_renderable(scene)
    if scene.view in RUN_VIEWS:
        return build_run_view(scene, scene.text)
    if session.trace is None:
        raise ValueError(session.message or "no trace: the model did not run")
    kind, head = scene.view, scene.head
    if kind == "circuit":
        return circuit_scene_view(session, scene)
    if kind == "step":
        if session.step is not None and session.step.per_head and head >= session.n_heads:
            raise ValueError(f"head {head + 1} does not exist: this model has heads 1 "
                             f"to {session.n_heads}")
        view = HeatmapWidget()
        view.show_data(heatmap_data(session))
        return view
    if kind == "output":
        view = OutputDistributionWidget()
        names = vocabulary_labels(session.tokenizer, int(session.cfg.vocab_size))
        view.set_logits(session.logits[0], names, list(session.x_labels))
        return view
    prefix = attention_prefix(session, scene)
    if kind == "heads":
        grid = HeadGridWidget()
        grid.set_trace(session.trace)
        grid.set_selected(prefix, head)
        return grid
    panel = AttentionPanel()
    try:
        panel.set_trace(session.trace, session.x_labels, session.z_labels)
        panel.select(prefix, AttentionSite.parse(prefix).layer, head)
    except BaseException:
        shiboken6.delete(panel)  # now, on this thread: no half-built Qt object for gc
        raise
    child = panel.pattern if kind == "attention" else panel.lines
    child.setParent(None)
    # Qt ownership, not a Python reference cycle: the hidden panel (and its connections)
    # lives exactly as long as the view and is deleted with it.
    panel.setParent(child)
    panel.hide()
    return child
