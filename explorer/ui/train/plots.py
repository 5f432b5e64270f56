"""Live training curves: train and validation loss, learning rate, gradient norm, and
(for a run that reports them: last-token runs, grokking) train and validation accuracy.

Plot items are created once; new points go into growing float arrays and the curves
get ``setData`` at most at the panel's redraw rate, with automatic peak downsampling and
clip-to-view, so 100,000 points stay smooth.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyqtgraph as pg

from explorer.train import StepResult


class Series:
    """A growing pair of float arrays (capacity doubles, views are handed out)."""

    def __init__(self, capacity: int = 1024) -> None:
        self._x = np.empty(capacity, dtype=np.float64)
        self._y = np.empty(capacity, dtype=np.float64)
        self.n = 0

    def append(self, x: float, y: float) -> None:
        if self.n == len(self._x):
            self._x = np.concatenate([self._x, np.empty_like(self._x)])
            self._y = np.concatenate([self._y, np.empty_like(self._y)])
        self._x[self.n], self._y[self.n] = x, y
        self.n += 1

    @property
    def x(self) -> np.ndarray:
        return self._x[: self.n]

    @property
    def y(self) -> np.ndarray:
        return self._y[: self.n]

    def clear(self) -> None:
        self.n = 0


def _curve(plot: pg.PlotItem, color: str, width: float = 2.0, symbol: str | None = None):
    item = plot.plot(pen=pg.mkPen(color, width=width), symbol=symbol, symbolSize=7,
                     symbolBrush=color if symbol else None)
    item.setDownsampling(auto=True, method="peak")
    item.setClipToView(True)
    return item


class TrainCurves(pg.GraphicsLayoutWidget):
    """Three stacked plots sharing the step axis; accuracy, right under the loss once
    a step result carries accuracies."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        label_style = {"font-size": "14pt"}
        self.loss_plot = self.addPlot(row=0, col=0)
        self.loss_plot.setLabel("left", "loss", **label_style)
        self.loss_plot.addLegend(offset=(-10, 10), labelTextSize="13pt")
        self.loss_plot.showGrid(x=True, y=True, alpha=0.3)
        self.lr_plot = self.addPlot(row=2, col=0)  # row 1: accuracy, when shown
        self.lr_plot.setLabel("left", "lr", **label_style)
        self.norm_plot = self.addPlot(row=3, col=0)
        self.norm_plot.setLabel("left", "grad norm", **label_style)
        self.norm_plot.setLabel("bottom", "step", **label_style)
        for plot in (self.lr_plot, self.norm_plot):
            plot.setXLink(self.loss_plot)
            plot.showGrid(x=True, y=True, alpha=0.3)
        self.ci.layout.setRowStretchFactor(0, 3)
        tick_font = self.font()
        tick_font.setPointSize(12)
        for plot in (self.loss_plot, self.lr_plot, self.norm_plot):
            for side in ("left", "bottom"):
                plot.getAxis(side).setTickFont(tick_font)
            plot.getAxis("left").setWidth(90)
        self.lr_plot.getAxis("left").enableAutoSIPrefix(False)  # 0.001, not "(x0.001)"
        self.acc_plot = self._accuracy_plot(label_style, tick_font)
        self.train_curve = _curve(self.loss_plot, "#1f77b4")
        self.val_curve = _curve(self.loss_plot, "#d62728", 2.5, symbol="o")
        self.loss_plot.legend.addItem(self.train_curve, "train")
        self.loss_plot.legend.addItem(self.val_curve, "validation")
        self.lr_curve = _curve(self.lr_plot, "#2ca02c")
        self.norm_curve = _curve(self.norm_plot, "#9467bd", 1.5)
        self.train, self.val, self.lr, self.norm = Series(), Series(), Series(), Series()
        self.train_acc, self.val_acc = Series(), Series()
        self._dirty = False
        self._log = False

    def append(self, results: Iterable[StepResult]) -> None:
        for r in results:
            self.train.append(r.step, r.loss)
            self.lr.append(r.step, r.lr)
            self.norm.append(r.step, r.grad_norm)
            if r.val_loss is not None:
                self.val.append(r.step, r.val_loss)
            if r.train_accuracy is not None and r.val_accuracy is not None:
                self.train_acc.append(r.step, r.train_accuracy)
                self.val_acc.append(r.step, r.val_accuracy)
            self._dirty = True

    def load_history(self, history) -> None:
        """Show a resumed run's curves from its checkpointed history."""
        self.reset()
        for s, loss, lr, gn in zip(history.step, history.loss, history.lr, history.grad_norm):
            self.train.append(s, loss)
            self.lr.append(s, lr)
            self.norm.append(s, gn)
        for s, v in zip(history.val_step, history.val_loss):
            self.val.append(s, v)
        for s, t, v in zip(history.acc_step, history.train_accuracy, history.val_accuracy):
            self.train_acc.append(s, t)
            self.val_acc.append(s, v)
        self._dirty = True
        self.redraw()

    def set_log_loss(self, on: bool) -> None:
        self._log = on
        self.loss_plot.setLogMode(y=on)
        self._dirty = True
        self.redraw()

    def reset(self) -> None:
        for series in (self.train, self.val, self.lr, self.norm, self.train_acc, self.val_acc):
            series.clear()
        self._dirty = True
        self.redraw()

    def redraw(self) -> bool:
        """Push new points to the curves; False when there was nothing new."""
        if not self._dirty:
            return False
        self._dirty = False
        self._show_accuracy(self.val_acc.n > 0)
        for curve, series in ((self.train_curve, self.train), (self.val_curve, self.val),
                              (self.lr_curve, self.lr), (self.norm_curve, self.norm),
                              (self.train_acc_curve, self.train_acc),
                              (self.val_acc_curve, self.val_acc)):
            if series.n:
                curve.setData(series.x, series.y)
            else:  # setData with empty arrays leaves the view unable to draw
                curve.clear()
        return True

    def _accuracy_plot(self, label_style: dict, tick_font) -> pg.PlotItem:
        """The accuracy plot (0 to 100%), made once and put in the layout while a run
        reports accuracies (``_show_accuracy``)."""
        plot = pg.PlotItem()
        plot.setLabel("left", "accuracy", **label_style)
        plot.setXLink(self.loss_plot)
        plot.setYRange(0.0, 1.02, padding=0)
        plot.showGrid(x=True, y=True, alpha=0.3)
        plot.addLegend(offset=(-10, -10), labelTextSize="13pt")
        for side in ("left", "bottom"):
            plot.getAxis(side).setTickFont(tick_font)
        plot.getAxis("left").setWidth(90)
        self.train_acc_curve = _curve(plot, "#1f77b4", symbol="o")
        self.val_acc_curve = _curve(plot, "#d62728", 2.5, symbol="o")
        plot.legend.addItem(self.train_acc_curve, "train accuracy")
        plot.legend.addItem(self.val_acc_curve, "validation accuracy")
        self._acc_shown = False
        return plot

    def _show_accuracy(self, on: bool) -> None:
        if on == self._acc_shown:
            return
        self._acc_shown = on
        if on:
            self.addItem(self.acc_plot, row=1, col=0)
            self.ci.layout.setRowStretchFactor(1, 2)
        else:
            self.removeItem(self.acc_plot)
