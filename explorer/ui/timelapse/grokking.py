"""The Time-lapse's grokking view: accuracy over training and the embedding's Fourier
spectrum at the snapshot on screen (``explorer.analysis.fourier``).

Shown under the frame only for a modular-arithmetic run (its vocabulary holds the
residues 0..p-1 and ``=``). Left: train and validation accuracy from ``metrics.jsonl``
and, per snapshot, the share of W_e's norm² in the key frequencies of the last one, with
a cursor at the snapshot the slider shows. Right: that snapshot's norm per frequency,
the key frequencies in red.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from explorer.analysis.fourier import RunSpectra
from explorer.train.progress import read_history

BLUE, RED, GREEN, GREY = "#1f77b4", "#d62728", "#2ca02c", "#9a9a9a"


class GrokkingPanel(QWidget):
    """Accuracy and the Fourier spectrum of one run; hidden unless it is a grokking run."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spectra: RunSpectra | None = None
        self.step: int | None = None
        self._metrics_stamp: tuple[int, int] | None = None
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground("w")
        font = self.font()
        font.setPointSize(12)
        self.curves = self.plots.addPlot(row=0, col=0)
        self.bars_plot = self.plots.addPlot(row=0, col=1)
        for plot, left, bottom in ((self.curves, "accuracy · share", "step"),
                                   (self.bars_plot, "‖W_e‖ per frequency", "frequency k")):
            plot.setLabel("left", left, **{"font-size": "13pt"})
            plot.setLabel("bottom", bottom, **{"font-size": "13pt"})
            plot.showGrid(x=True, y=True, alpha=0.3)
            for side in ("left", "bottom"):
                plot.getAxis(side).setTickFont(font)
        self.curves.setYRange(0.0, 1.45, padding=0)  # the legend's row above 1.0
        self.curves.getAxis("left").setTicks([[(v / 5, f"{v / 5:g}") for v in range(6)]])
        legend = self.curves.addLegend(offset=(10, 2), labelTextSize="12pt",
                                       labelTextColor="#222", colCount=3)
        legend.setBrush(pg.mkBrush(255, 255, 255, 210))
        self.bars_plot.getAxis("left").enableAutoSIPrefix(False)
        self.train_curve = self.curves.plot(pen=pg.mkPen(BLUE, width=2), name="train")
        self.val_curve = self.curves.plot(pen=pg.mkPen(RED, width=2.5), name="validation")
        self.share_curve = self.curves.plot(
            pen=pg.mkPen(GREEN, width=2), symbol="o", symbolSize=5, symbolBrush=GREEN,
            name="key-frequency share")
        self.cursor = pg.InfiniteLine(angle=90, pen=pg.mkPen("#444", width=1.5))
        self.curves.addItem(self.cursor)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8, brushes=[])
        self.bars_plot.addItem(self.bars)
        self.plots.ci.layout.setColumnStretchFactor(0, 3)
        self.plots.ci.layout.setColumnStretchFactor(1, 2)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.plots, 1)
        self.setMinimumHeight(220)
        self.hide()

    @property
    def active(self) -> bool:
        """True for a grokking run (a modular-arithmetic vocabulary)."""
        return self.spectra is not None and self.spectra.p is not None

    def set_run(self, run_dir: str | os.PathLike) -> None:
        self.spectra = RunSpectra(run_dir)
        self._metrics_stamp = None
        self.reload()

    def reload(self) -> None:
        """Read new snapshots and metrics; shown while the run is a grokking run."""
        if self.spectra is None:
            return
        changed = self.spectra.reload()
        self.setVisible(self.active)
        if not self.active:
            return
        self._read_accuracy()
        if changed:
            s = self.spectra
            self.share_curve.setData(np.asarray(s.steps, dtype=float),
                                     np.asarray(s.key_share(), dtype=float))
            self.show_step(self.step if self.step is not None else s.steps[-1])

    def _read_accuracy(self) -> None:
        path = Path(self.spectra.run_dir) / "metrics.jsonl"
        try:
            st = path.stat()
        except OSError:
            return
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp == self._metrics_stamp:
            return
        self._metrics_stamp = stamp
        try:
            h = read_history(path)
        except ValueError:
            return
        steps = np.asarray(h.acc_step, dtype=float)
        self.train_curve.setData(steps, np.asarray(h.train_accuracy, dtype=float))
        self.val_curve.setData(steps, np.asarray(h.val_accuracy, dtype=float))

    def show_step(self, step: int) -> None:
        """The cursor and the bars at the snapshot of ``step`` (or the last before it)."""
        self.step = step
        if not self.active:
            return
        self.cursor.setValue(step)
        spectrum = self.spectra.at(step)
        if spectrum is None:
            return
        k = np.arange(1, len(spectrum.norms))
        heights = spectrum.norms.numpy()[1:]
        brushes = [pg.mkBrush(RED if int(i) in spectrum.key else GREY) for i in k]
        self.bars.setOpts(x=k, height=heights, brushes=brushes)
        keys = ", ".join(map(str, spectrum.key))
        now = (f"key frequencies {keys} (red) hold {spectrum.concentration:.0%} of its norm²"
               if keys else "no key frequency yet")
        last = ", ".join(map(str, self.spectra.spectra[-1].key)) or "none"
        self.summary.setText(f"<b>Step {step:,}</b> · W_e in the Fourier basis mod "
                             f"{spectrum.p}: {now}")
        self.setToolTip(f"Green: at each snapshot, the share of W_e's norm² in the key "
                        f"frequencies of the last snapshot ({last}).")
