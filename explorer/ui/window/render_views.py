"""Building one view from a session without a window (the ``render`` command), filled the
same way the window fills it. Knows every feature's views, so it lives with the window's
composition.

``build_view(session, kind, layer=0, head=0) -> QWidget``: ``kind`` one of ``VIEW_KINDS``,
filled from an ``explorer.state.Session`` that has a trace.
"""

from __future__ import annotations

from typing import Any

import shiboken6
from PySide6.QtWidgets import QWidget

from explorer.state.attention_data import attention_sites
from explorer.state.step_data import heatmap_data, vocabulary_labels
from explorer.ui.attention.head_grid import HeadGridWidget
from explorer.ui.attention.views import AttentionPanel
from explorer.ui.inspect.heatmap_view import HeatmapWidget
from explorer.ui.output.view import OutputDistributionWidget

VIEW_KINDS = ("step", "attention", "heads", "lines", "output")


def _attention_prefix(session: Any, layer: int, stack: str | None, cross: bool) -> str:
    sites = [s for s in attention_sites(session.trace) if s.layer == layer and s.cross == cross]
    if stack is not None:
        sites = [s for s in sites if s.stack == stack]
    if not sites:
        n = len({s.layer for s in attention_sites(session.trace)})
        raise ValueError(f"no {'cross-' if cross else ''}attention in layer {layer + 1}: "
                         f"this model has {n} layer{'s' if n != 1 else ''}")
    return sites[0].prefix


def _check_head(session: Any, head: int) -> None:
    if not 0 <= head < session.n_heads:
        raise ValueError(f"head {head + 1} does not exist: this model has heads 1 to "
                         f"{session.n_heads}")


def build_view(session: Any, kind: str, layer: int = 0, head: int = 0,
               stack: str | None = None, cross: bool = False) -> QWidget:
    """A view of ``kind`` filled from ``session`` (which must hold a trace)."""
    if session.trace is None:
        raise ValueError(session.message or "no trace: the model did not run")
    if kind == "step":
        view = HeatmapWidget()
        view.show_data(heatmap_data(session))
        return view
    if kind == "output":
        view = OutputDistributionWidget()
        names = vocabulary_labels(session.tokenizer, int(session.cfg.vocab_size))
        view.set_logits(session.logits[0], names, list(session.x_labels))
        return view
    if kind == "heads":
        grid = HeadGridWidget()
        grid.set_trace(session.trace)
        _check_head(session, head)
        grid.set_selected(_attention_prefix(session, layer, stack, cross), head)
        return grid
    if kind not in ("attention", "lines"):
        raise ValueError(f"unknown view {kind!r}; choose one of {', '.join(VIEW_KINDS)}")
    _check_head(session, head)
    prefix = _attention_prefix(session, layer, stack, cross)
    panel = AttentionPanel()
    try:
        panel.set_trace(session.trace, session.x_labels, session.z_labels)
        panel.select(prefix, layer, head)
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
