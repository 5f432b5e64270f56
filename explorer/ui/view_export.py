"""Which picture, caption and numbers each kind of view exports, and building a view from a
session without a window (the ``render`` command), the same way the window fills it.

- ``view_parts(widget) -> ViewParts(target, caption, table)`` for a heatmap, an attention
  panel or pattern, the head grid, the output distribution, the training curves (the table is
  None where a view has no single matrix; ``series`` holds curves).
- ``build_view(session, kind, layer=0, head=0) -> QWidget``: ``kind`` one of ``VIEW_KINDS``,
  filled from an ``explorer.state.Session`` that has a trace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyqtgraph as pg
import shiboken6
from PySide6.QtWidgets import QAbstractScrollArea, QScrollArea, QWidget

from explorer.ui.export import Caption, Table, curve_series
from explorer.ui.heatmap_view import HeatmapWidget
from explorer.ui.step_data import HeatmapData, heatmap_data

VIEW_KINDS = ("step", "attention", "heads", "lines", "output")


@dataclass
class ViewParts:
    target: Any  # a QWidget (or QGraphicsItem) to draw
    caption: Caption | None
    table: Table | None
    series: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


def _tokens(labels) -> str:
    return " ".join(labels) if labels else ""


def heatmap_caption(data: HeatmapData | None) -> Caption | None:
    if data is None:
        return None
    step = data.step
    head = f" · head {data.head + 1}" if data.head is not None else ""
    tokens = data.col_labels or data.row_labels
    return Caption(f"{step.title}{head}", step.shape, step.formula, _tokens(tokens))


def heatmap_table(data: HeatmapData | None) -> Table | None:
    if data is None:
        return None
    return Table(data.raw, data.row_labels or data.row_names, data.col_labels,
                 data.row_dim or "row", data.col_dim)


def _pattern_parts(pattern: Any) -> ViewParts:
    weights = getattr(pattern, "weights", None)
    table = None
    if weights is not None and np.asarray(weights).size:
        table = Table(np.asarray(weights), list(pattern.key_labels),
                      list(pattern.query_labels), "l_z", "l_x")
    title = pattern.title_label.text() if hasattr(pattern, "title_label") else ""
    caption = Caption(title, "ℓ_z × ℓ_x", "A = softmax(S / √d_attn), each column sums to 1",
                      _tokens(getattr(pattern, "query_labels", None)))
    return ViewParts(pattern, caption, table)


def _output_parts(view: Any) -> ViewParts:
    table = None
    try:
        q = np.asarray(view.distribution())
        if q.size:
            table = Table(q[None, :], ["q"], [view._token(i) for i in range(q.size)],
                          "", "N_V")
    except (AttributeError, ValueError, IndexError):
        table = None
    title = view.title_label.text() if hasattr(view, "title_label") else "Output"
    caption = Caption(f"{title} · τ = {getattr(view, 'temperature', 1.0):g}", "N_V",
                      "q ∝ p^(1/τ) = softmax(W_u X[:, t] / τ)   (Algorithm 14)")
    return ViewParts(view, caption, table)


def unwrap(widget: QWidget) -> QWidget:
    """The widget inside a scroll area (the window puts some panels in one)."""
    while isinstance(widget, QScrollArea) and widget.widget() is not None:
        widget = widget.widget()
    return widget


def view_parts(widget: QWidget) -> ViewParts:
    """What exporting ``widget`` means (see the module docstring)."""
    widget = unwrap(widget)
    if isinstance(widget, HeatmapWidget):
        return ViewParts(widget, heatmap_caption(widget.data), heatmap_table(widget.data))
    name = type(widget).__name__
    if name == "AttentionPanel":
        return _pattern_parts(widget.pattern)
    if name == "AttentionPatternWidget":
        return _pattern_parts(widget)
    if name == "OutputDistributionWidget":
        return _output_parts(widget)
    if name == "TrainPanel" and hasattr(widget, "curves"):
        widget = widget.curves
    if isinstance(widget, (pg.GraphicsLayoutWidget, pg.PlotWidget)):
        series = curve_series(widget)
        return ViewParts(widget, Caption("Training curves") if series else None, None, series)
    if isinstance(widget, QAbstractScrollArea):
        return ViewParts(widget.viewport(), None, None)
    return ViewParts(widget, None, None)


# -- views without a window -----------------------------------------------------------------
def _attention_prefix(session: Any, layer: int, stack: str | None, cross: bool) -> str:
    from explorer.ui.attention_data import attention_sites

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
        from explorer.ui.output_view import OutputDistributionWidget

        view = OutputDistributionWidget()
        view.set_logits(session.logits[0], _vocab(session), list(session.x_labels))
        return view
    from explorer.ui.attention_views import AttentionPanel

    if kind == "heads":
        from explorer.ui.head_grid import HeadGridWidget

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


def _vocab(session: Any) -> list[str]:
    from explorer.state import token_label

    tok = session.tokenizer
    lookup = getattr(tok, "id_to_token", None)
    n = int(session.cfg.vocab_size)
    if lookup is None:
        return [f"#{i}" for i in range(n)]
    return [token_label(lookup(i) or "") for i in range(n)]
