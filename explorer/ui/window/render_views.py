"""Building one view of a scene without a window (the ``render`` command), filled the same
way the window fills it. Knows every feature's views, so it lives with the window's
composition.

``build_view(session, scene) -> QWidget``: the view ``scene.view`` (one of ``RENDER_VIEWS``)
of an ``explorer.state.Session`` that has a trace, for the scene's layer, head and options
(``explorer.state.scene.attention_prefix`` picks the attention, as the window does).
``WINDOW_ONLY`` are the scene views that show a training run as it goes: the window shows
them (a scene that names one trains or follows a run), a still picture of them is not made.
"""

from __future__ import annotations

from typing import Any

import shiboken6
from PySide6.QtWidgets import QWidget

from explorer.state.attention_data import AttentionSite
from explorer.state.scene import attention_prefix
from explorer.state.step_data import heatmap_data, vocabulary_labels
from explorer.ui.attention.head_grid import HeadGridWidget
from explorer.ui.attention.views import AttentionPanel
from explorer.ui.inspect.heatmap_view import HeatmapWidget
from explorer.ui.output.view import OutputDistributionWidget

RENDER_VIEWS = ("step", "attention", "heads", "lines", "output")
WINDOW_ONLY = ("train", "timelapse")


def check_renderable(view: str) -> None:
    """ValueError unless ``render`` can draw ``view``, saying what it can draw."""
    if view in WINDOW_ONLY:
        raise ValueError(f"the scene's view {view!r} shows a training run as it trains; open "
                         f"the scene in the window (render draws: {', '.join(RENDER_VIEWS)})")
    if view not in RENDER_VIEWS:
        raise ValueError(f"unknown view {view!r}; choose one of {', '.join(RENDER_VIEWS)}")


def build_view(session: Any, scene: Any) -> QWidget:
    """The scene's view filled from ``session`` (which must hold a trace)."""
    check_renderable(scene.view)
    if session.trace is None:
        raise ValueError(session.message or "no trace: the model did not run")
    kind, head = scene.view, scene.head
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
