"""The Circuit view's widgets: the graph of heads with the circuit's edges, the size
slider on the faithfulness curve, and the linear estimate against exact patching.

Nodes sit where ``explorer.analysis.graph.layout`` puts them (layer upwards, heads across);
an edge is drawn from its source's output to its target's input (a head's q, k or v dot)
with a width by |score| and red for a positive score (restoring it helps), blue for a
negative one. ``node_clicked(Node)`` says which node the user clicked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from explorer.analysis.graph import Node, layout
from explorer.ui.widgets.export_parts import Caption, ViewParts, curve_series

POSITIVE, NEGATIVE = (200, 40, 40), (40, 80, 200)
WIDTHS = 5  # edge widths drawn (buckets of |score|)
SITE_COLOURS = {"resid": (31, 119, 180), "attn_out": (255, 127, 14), "mlp_out": (44, 160, 44),
                "head_out": (214, 39, 40)}


@dataclass
class CircuitRun:
    """A finished run: the scored graph, its edges best first, the faithfulness curve
    (n, recovered), the linear estimates and the exact sweeps by site (None where the
    model has no exact sweeps), what was measured, and the model it ran on."""

    graph: Any
    ranked: list
    curve: list[tuple[int, float]]
    estimate: dict[str, np.ndarray]
    exact: dict[str, np.ndarray] | None
    title: str
    model: Any


class CircuitView(QWidget):
    node_clicked = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.run: CircuitRun | None = None
        self._nodes: list[Node] = []
        self._place: dict[Node, tuple[float, float]] = {}
        self._edge_items: list[pg.PlotDataItem] = []
        self.method_box = QComboBox()
        self.method_box.addItem("EAP", "eap")
        self.method_box.addItem("EAP-IG", "eap-ig")
        self.steps_box = QSpinBox()
        self.steps_box.setRange(1, 50)
        self.steps_box.setValue(5)
        self.steps_box.setPrefix("k = ")
        self.steps_box.setToolTip("EAP-IG: interpolation steps between text B and text A")
        self.metric_box = QComboBox()
        for label, kind in (("logit difference", "logit_diff"), ("loss", "loss"),
                            ("KL to A", "kl")):
            self.metric_box.addItem(label, kind)
        self.target_edit = QLineEdit()
        self.target_edit.setPlaceholderText("target: A's top token")
        self.other_edit = QLineEdit()
        self.other_edit.setPlaceholderText("other: B's top token")
        self.run_button = QPushButton("Find the circuit (A → B)")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(180)
        for edit in (self.target_edit, self.other_edit):
            edit.setMaximumWidth(170)
        self.json_button = QPushButton("Export JSON…")
        self.json_button.setEnabled(False)
        top, second = QHBoxLayout(), QHBoxLayout()  # two rows: narrow enough for 1280 px
        for w in (self.method_box, self.steps_box, self.metric_box, self.target_edit,
                  self.other_edit):
            top.addWidget(w)
        top.addStretch(1)
        for w in (self.run_button, self.cancel_button, self.progress):
            second.addWidget(w)
        second.addStretch(1)
        second.addWidget(self.json_button)
        self.note = QLabel("Type text A, and text B (Ctrl+B) with as many tokens; then "
                           "find the circuit that carries A's answer.")
        self.note.setWordWrap(True)

        self.graph_plot = pg.PlotWidget()
        self.graph_plot.hideAxis("bottom")
        self.graph_plot.setMouseEnabled(False, False)
        self.graph_plot.setMenuEnabled(False)
        self.graph_plot.getAxis("left").setLabel("layer")
        self.graph_plot.setTitle("the circuit: edges by score (red helps, blue hurts)")
        self.nodes_item = pg.ScatterPlotItem(pxMode=True, hoverable=True)
        self.nodes_item.sigClicked.connect(self._on_points_clicked)
        self.curve_plot = pg.PlotWidget(title="faithfulness: A's answer recovered")
        self.curve_plot.setLabel("bottom", "edges in the circuit")
        self.curve_plot.setLabel("left", "recovered")
        self.curve_plot.showGrid(x=True, y=True, alpha=0.3)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setEnabled(False)
        self.slider.setMinimumWidth(120)
        self.slider.valueChanged.connect(self.set_size_index)
        self.size_label = QLabel("")
        self.scatter_plot = pg.PlotWidget(title="linear estimate vs exact patching")
        self.scatter_plot.setLabel("bottom", "exact patch")
        self.scatter_plot.setLabel("left", "estimate")
        self.scatter_plot.addLegend(offset=(5, 5))
        self.scatter_plot.showGrid(x=True, y=True, alpha=0.3)

        side = QWidget()
        right = QVBoxLayout(side)
        right.setContentsMargins(0, 0, 0, 0)
        right.addWidget(self.curve_plot, 3)
        row = QHBoxLayout()
        row.addWidget(QLabel("size"))
        row.addWidget(self.slider, 1)
        row.addWidget(self.size_label)
        right.addLayout(row)
        right.addWidget(self.scatter_plot, 3)
        self.body = QSplitter(Qt.Orientation.Horizontal)
        self.body.addWidget(self.graph_plot)
        self.body.addWidget(side)
        self.body.setStretchFactor(0, 3)
        self.body.setStretchFactor(1, 2)
        self.controls = QWidget()  # hidden where nothing can be run (``render``)
        controls = QVBoxLayout(self.controls)
        controls.setContentsMargins(6, 6, 6, 0)
        controls.addLayout(top)
        controls.addLayout(second)
        controls.addWidget(self.note)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)  # the body, which exports, fills the view
        box.addWidget(self.controls)
        box.addWidget(self.body, 1)

    def options(self) -> dict[str, Any]:
        """What a scene stores: method, steps, metric, tokens and the circuit size."""
        run = self.run
        size = run.curve[self.slider.value()][0] if run is not None else None
        return {"method": self.method_box.currentData(), "steps": self.steps_box.value(),
                "metric": self.metric_box.currentData(), "target": self.target_edit.text(),
                "other": self.other_edit.text(), **({"edges": size} if size is not None
                                                      else {})}

    def set_options(self, options: dict[str, Any]) -> None:
        """The controls as ``options`` (a scene's) says; unknown values are left as they are."""
        for box, key in ((self.method_box, "method"), (self.metric_box, "metric")):
            index = box.findData(options.get(key))
            if index >= 0:
                box.setCurrentIndex(index)
        if isinstance(options.get("steps"), int):
            self.steps_box.setValue(options["steps"])
        self.target_edit.setText(str(options.get("target") or ""))
        self.other_edit.setText(str(options.get("other") or ""))

    def select_size(self, edges: int) -> None:
        """Move the slider to the curve's size nearest ``edges``."""
        if self.run is not None:
            sizes = [n for n, _ in self.run.curve]
            self.slider.setValue(min(range(len(sizes)), key=lambda i: abs(sizes[i] - edges)))

    def set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)

    # -- showing a run -----------------------------------------------------------------
    def show_run(self, run: CircuitRun) -> None:
        self.run = run
        nodes = [n for n in run.graph.nodes if not n.port]
        ports = [n for n in run.graph.nodes if n.port]
        self._place = layout(run.graph.nodes)
        self._nodes = nodes
        g = self.graph_plot
        g.clear()
        self._edge_items = []
        spots = [{"pos": self._place[n], "data": n, "size": 18 if n.kind in ("head", "cross")
                  else 22, "symbol": {"mlp": "s", "embed": "d", "logits": "d"}.get(n.kind, "o"),
                  "brush": pg.mkBrush(235, 235, 235), "pen": pg.mkPen(60, 60, 60)}
                 for n in nodes]
        spots += [{"pos": self._place[n], "data": n.output, "size": 5, "symbol": "o",
                   "brush": pg.mkBrush(90, 90, 90), "pen": None} for n in ports]
        self.nodes_item.setData(spots)
        g.addItem(self.nodes_item)
        for n in nodes:
            if n.kind in ("head", "cross") and len(nodes) > 80:
                continue  # too many to read: the hover and the click say which
            head = n.kind in ("head", "cross")
            text = pg.TextItem(n.label.split(" ")[-1], color=(30, 30, 30),
                               anchor=(0.5, -0.4) if head else (-0.25, 0.5))
            text.setPos(*self._place[n])
            g.addItem(text)
        self._show_curve()
        self._show_scatter()
        self.slider.blockSignals(True)
        self.slider.setRange(0, len(run.curve) - 1)
        self.slider.setValue(self._default_index())
        self.slider.blockSignals(False)
        self.slider.setEnabled(True)
        self.json_button.setEnabled(True)
        self.set_size_index(self.slider.value())

    def _default_index(self) -> int:
        """The smallest circuit that recovers at least 80 % (else the largest)."""
        for i, (_n, f) in enumerate(self.run.curve):
            if f >= 0.8:
                return i
        return len(self.run.curve) - 1

    def _show_curve(self) -> None:
        p = self.curve_plot
        p.clear()
        x = np.array([n for n, _ in self.run.curve], dtype=float)
        y = np.array([f for _, f in self.run.curve])
        p.plot(x, y, pen=pg.mkPen((33, 102, 172), width=2), symbol="o", symbolSize=6,
               name="recovered")
        p.addLine(y=1.0, pen=pg.mkPen((150, 150, 150), style=Qt.PenStyle.DashLine))
        p.addLine(y=0.0, pen=pg.mkPen((150, 150, 150), style=Qt.PenStyle.DashLine))
        self.current = pg.ScatterPlotItem(size=14, brush=pg.mkBrush(255, 170, 0),
                                          pen=pg.mkPen("k"))
        p.addItem(self.current)

    def _show_scatter(self) -> None:
        import torch

        from explorer.analysis.attribution import correlation

        p = self.scatter_plot
        p.clear()
        run = self.run
        if not run.exact:
            p.setTitle("linear estimate vs exact patching: exact sweeps are for decoders "
                       "and encoders")
            return
        for site, exact in run.exact.items():
            est = run.estimate[site]
            r = correlation(torch.as_tensor(est), torch.as_tensor(exact))
            p.plot(exact.ravel(), est.ravel(), pen=None, symbol="o", symbolSize=6,
                   symbolBrush=pg.mkBrush(*SITE_COLOURS.get(site, (100, 100, 100)), 170),
                   symbolPen=None, name=f"{site}  r = {r:+.2f}")
        low = min(float(min(a.min() for a in run.exact.values())), 0.0)
        high = max(float(max(a.max() for a in run.exact.values())), 1.0)
        p.plot([low, high], [low, high], pen=pg.mkPen((150, 150, 150), width=1,
                                                      style=Qt.PenStyle.DashLine))
        p.setTitle("linear estimate vs exact patching (per cell)")

    def set_size_index(self, index: int) -> None:
        """Draw the circuit of the ``index``-th size of the curve."""
        run = self.run
        if run is None:
            return
        n, recovered = run.curve[max(0, min(index, len(run.curve) - 1))]
        for item in self._edge_items:
            self.graph_plot.removeItem(item)
        self._edge_items = []
        edges = run.ranked[:n]
        limit = max((abs(e.score) for e in edges), default=1.0) or 1.0
        buckets: dict[tuple[int, bool], list[float]] = {}
        for e in edges:
            width = min(WIDTHS - 1, int(WIDTHS * abs(e.score) / limit))
            (x0, y0), (x1, y1) = self._place[e.source], self._place[e.target]
            buckets.setdefault((width, e.score >= 0), []).extend([x0, y0, x1, y1])
        for (width, positive), xy in sorted(buckets.items()):
            pts = np.array(xy).reshape(-1, 2)
            colour = POSITIVE if positive else NEGATIVE
            item = pg.PlotDataItem(pts[:, 0], pts[:, 1], connect="pairs",
                                   pen=pg.mkPen(*colour, 90 + 40 * width, width=0.8 + width))
            item.setZValue(-1)
            self.graph_plot.addItem(item)
            self._edge_items.append(item)
        self.current.setData([n], [recovered])
        total = len(run.ranked)
        self.size_label.setText(f"{n}/{total} edges: {recovered:.0%}")

    def drawn_edges(self) -> int:
        """How many edges the graph shows now."""
        return sum(len(item.getData()[0]) // 2 for item in self._edge_items
                   if item.getData()[0] is not None)

    def node_point(self, node: Node) -> QPoint:
        """Where ``node`` is drawn, in the graph's viewport coordinates (to click it)."""
        x, y = self._place[node]
        scene = self.graph_plot.getPlotItem().vb.mapViewToScene(QPointF(x, y))
        return self.graph_plot.mapFromScene(scene)

    def _on_points_clicked(self, _item, points, _event=None) -> None:
        if len(points):
            self.node_clicked.emit(points[0].data())

    def export_parts(self) -> ViewParts:
        title = self.run.title if self.run is not None else "Circuit"
        return ViewParts(self.body, Caption(title, "", "edge score (a_A − a_B) · ∂m/∂input"),
                         None, curve_series(self.curve_plot))
