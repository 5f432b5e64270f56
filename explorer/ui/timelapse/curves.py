"""The Time-lapse's progress curves: each head's score over the snapshots above the loss,
the phase change shaded, a cursor at the snapshot on screen.

API::

    curves = HeadCurves()
    curves.set_run(run)           # a TimeLapseRun: measures its new snapshots off the GUI thread
    curves.set_cursor(step)       # the slider's snapshot
    curves.head_clicked.connect(lambda layer, head, step: ...)   # 0-based layer and head

The scores come from ``explorer.state.head_progress`` (on fresh repeated random sequences,
not on the typed text). Clicking a head's curve emits ``head_clicked`` with the step of
the nearest snapshot. Under the curves, the proof by intervention at the last snapshot:
what ablating the previous-token head does to the induction head and to the loss.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from explorer.state.head_progress import (
    MEASURES,
    ProgressTable,
    circuit_at,
    measure_snapshots,
)
from explorer.ui.widgets.workers import TraceRunner

COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
          "#7f7f7f", "#bcbd22", "#17becf")
PHASE = (214, 39, 40, 40)  # the phase change's shade


def compute_scores(request: tuple) -> tuple:
    """(run directory, {path: HeadScores}, the last snapshot's ablation proof): runs on
    the worker thread."""
    run_dir, snapshots, tokenizer, known = request
    return (run_dir, measure_snapshots(snapshots, tokenizer, known),
            circuit_at(snapshots[-1], tokenizer))


class HeadCurves(QWidget):
    head_clicked = Signal(int, int, int)  # layer, head (0-based), step

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = ProgressTable()
        self.run: Any = None
        self.cursor_step: int | None = None
        self._runner: TraceRunner | None = None
        self._items: list[pg.PlotCurveItem] = []
        self._model_wide = False  # the curves drawn are the model's ICL score, not heads'
        self.measure_box = QComboBox()
        for name, text in MEASURES.items():
            self.measure_box.addItem(text, name)
        self.measure_box.setToolTip("Which score each head's curve shows (measured on fresh "
                                    "random tokens that repeat, at every snapshot)")
        self.measure_box.currentIndexChanged.connect(lambda _i: self.redraw())
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground("w")
        self.plots.setMinimumHeight(180)
        self.score_plot = self.plots.addPlot(row=0, col=0)
        self.loss_plot = self.plots.addPlot(row=1, col=0)
        self.loss_plot.setXLink(self.score_plot)
        self.loss_plot.setTitle("training loss", size="10pt")  # axis titles would crowd it
        self.legend = self.score_plot.addLegend(offset=(-5, 5), labelTextSize="11pt")
        tick_font = self.font()
        tick_font.setPointSize(11)
        for plot in (self.score_plot, self.loss_plot):
            plot.showGrid(x=True, y=True, alpha=0.3)
            plot.getAxis("left").setWidth(50)
            for side in ("left", "bottom"):
                plot.getAxis(side).setTickFont(tick_font)
        self.loss_curve = self.loss_plot.plot(pen=pg.mkPen("#1f77b4", width=2))
        self.loss_curve.setDownsampling(auto=True, method="peak")
        self.regions = [pg.LinearRegionItem(brush=pg.mkBrush(*PHASE), movable=False)
                        for _ in range(2)]
        self.cursors = [pg.InfiniteLine(angle=90, pen=pg.mkPen("#d62728", width=2))
                        for _ in range(2)]
        for plot, region, cursor in zip((self.score_plot, self.loss_plot), self.regions,
                                        self.cursors):
            plot.addItem(region)
            plot.addItem(cursor)
            region.hide()
            cursor.hide()
        self.phase_label = QLabel("")
        self.phase_label.setWordWrap(True)
        self.proof_label = QLabel("")
        self.proof_label.setWordWrap(True)
        for label in (self.phase_label, self.proof_label, self.status):
            small = label.font()
            small.setPointSizeF(small.pointSizeF() * 0.8)
            label.setFont(small)
        top = QHBoxLayout()
        top.addWidget(QLabel("Each head's"))
        top.addWidget(self.measure_box)
        top.addStretch(1)
        root = QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.addLayout(top)
        root.addWidget(self.plots, 1)
        root.addWidget(self.phase_label)
        root.addWidget(self.proof_label)
        root.addWidget(self.status)

    @property
    def measure(self) -> str:
        return str(self.measure_box.currentData())

    # -- the run ---------------------------------------------------------------------------
    def set_run(self, run: Any) -> None:
        """Show ``run``'s curves; its snapshots not measured yet are measured off the GUI
        thread (call again when it has new ones)."""
        if run is not self.run:
            self.run = run
            self.table.clear()
            self.proof_label.setText("")
        if run is None or not run.snapshots:
            self.redraw()
            return
        try:
            tokenizer = run.tokenizer
        except (ValueError, OSError) as exc:
            self.status.setText(f"No head scores: {exc}")
            return
        known = self.table.known
        todo = [s for s in run.snapshots if str(s.path) not in known]
        if not todo:
            self.redraw()
            return
        if self._runner is None:
            self._runner = TraceRunner(compute_scores, self)
            self._runner.finished.connect(self._on_measured)
        self.status.setText(f"measuring the heads at {len(todo)} snapshot(s)…")
        self._runner.submit((run.run_dir, list(run.snapshots), tokenizer, known))

    def _on_measured(self, result: Any) -> None:
        if isinstance(result, BaseException):
            self.status.setText(f"No head scores: {result}")
            return
        run_dir, scores, proof = result
        if self.run is None or run_dir != self.run.run_dir:
            return
        self.table.add(scores)
        self.proof_label.setText("" if proof is None else
                                 f"At step {self.table.steps[-1]:,}: {proof.sentence}")
        self.status.setText("")
        self.redraw()

    # -- drawing ---------------------------------------------------------------------------
    def redraw(self) -> None:
        run = self.run
        steps = np.asarray(self.table.steps, dtype=np.float64)
        values = self.table.values(self.measure)
        self._set_curves(steps, values)
        if run is not None and run.steps:
            self.loss_curve.setData(np.asarray(run.steps, dtype=np.float64),
                                    np.asarray(run.losses, dtype=np.float64))
        else:
            self.loss_curve.setData([], [])
        self._show_phase()
        self.set_cursor(self.cursor_step)

    def _set_curves(self, steps: np.ndarray, values: np.ndarray) -> None:
        n_layers, n_heads = values.shape[1:] if values.size else (0, 0)
        wanted = n_layers * n_heads
        model_wide = self.measure == "icl"
        if len(self._items) != wanted or self._model_wide != model_wide:
            self._model_wide = model_wide
            for item in self._items:
                self.score_plot.removeItem(item)
            self.legend.clear()
            self._items = []
            for i in range(wanted):
                layer, head = divmod(i, n_heads)
                style = Qt.PenStyle.DashLine if layer % 2 == 0 and n_layers > 1 \
                    else Qt.PenStyle.SolidLine
                item = pg.PlotCurveItem(pen=pg.mkPen(COLORS[i % len(COLORS)], width=2.5,
                                                     style=style))
                self.score_plot.addItem(item)
                if model_wide:  # the model's curve: nothing to open
                    self.legend.addItem(item, "ICL")
                else:
                    item.setClickable(True, width=8)
                    item.sigClicked.connect(
                        lambda it, ev, lh=(layer, head): self._on_click(lh, ev))
                    self.legend.addItem(item, f"L{layer + 1}H{head + 1}")
                self._items.append(item)
        for i, item in enumerate(self._items):
            item.setData(steps, values[:, i // n_heads, i % n_heads])
        if model_wide:
            self.score_plot.enableAutoRange(axis="y")
        else:
            low = min(0.0, float(values.min())) if values.size else 0.0
            self.score_plot.setYRange(low, 1.0, padding=0.05)

    def _show_phase(self) -> None:
        change = self.table.phase()
        if change is None or change.kind == "none":
            for region in self.regions:
                region.hide()
            self.phase_label.setText("" if change is None else
                                     "No phase change yet (prefix matching and the "
                                     "in-context-learning score are flat)")
            return
        start, end = change.start, max(change.end, change.start + 1)
        for region in self.regions:
            region.setRegion((start, end))
            region.show()
        what = "prefix matching" if change.curve == "prefix_matching" else "the ICL score"
        self.phase_label.setText(
            f"Phase change ({change.kind}) at step {change.middle:,}: {what} "
            f"{change.before:.2f} → {change.after:.2f}, between steps {start:,} and {end:,}")

    def set_cursor(self, step: int | None) -> None:
        self.cursor_step = step
        for cursor in self.cursors:
            cursor.setVisible(step is not None)
            if step is not None:
                cursor.setValue(step)

    def _on_click(self, layer_head: tuple[int, int], event: Any) -> None:
        steps = self.table.steps
        if not steps:
            return
        x = event.pos().x()
        step = min(steps, key=lambda s: abs(s - x))
        self.head_clicked.emit(layer_head[0], layer_head[1], step)

    def shutdown(self) -> None:
        if self._runner is not None:
            self._runner.stop()
