"""The Time-lapse tab: a slider over a run's weight snapshots showing one view at each.

API::

    view = TimeLapseView()
    view.set_run("runs/induction")   # its snapshots/ and metrics.jsonl (read-only)
    view.set_text("abcabc")          # the text the views run on (the window's typed text)
    view.show_index(3)               # the 4th snapshot; the loss curve's cursor follows
    view.play() / view.pause()
    view.export_gif(path) / view.export_frames(folder)

Signals: ``frame_shown(int)`` (the step on screen), ``error_occurred(str)``. Frames are
computed on a worker thread (``TraceRunner``: the newest request wins) and cached, so
dragging the slider never blocks the window; export computes every frame first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from explorer.state.timelapse import Frame, TimeLapseRun
from explorer.ui.timelapse.curves import HeadCurves
from explorer.ui.timelapse.demos import DemoButtons
from explorer.ui.timelapse.export import export_gif, export_png_frames
from explorer.ui.timelapse.frames import FrameCanvas, compute_frame, frame_images
from explorer.ui.timelapse.grokking import GrokkingPanel
from explorer.ui.timelapse.paint import VIEWS
from explorer.ui.widgets.workers import TraceRunner

PLAY_MS = 450
RELOAD_MS = 2000  # a run still training: look for new snapshots this often while shown


class TimeLapseView(QWidget):
    frame_shown = Signal(int)
    error_occurred = Signal(str)
    train_requested = Signal(object)  # a scene's {"preset": ..., ...}: train, then watch it

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.run: TimeLapseRun | None = None
        self.text = ""
        self.frame: Frame | None = None
        self.message = "Open a run folder with snapshots (train with “Snapshot every”, or "
        self.message += "transformer-explorer train --snapshot-every N)."
        self.total_steps: int | None = None
        self.auto_head = False  # follow the strongest induction head as snapshots arrive
        self.frame_cache: dict[tuple, Frame | str] = {}
        self._runner: TraceRunner | None = None  # its thread starts with the first frame
        self._build()
        self._play = QTimer(self, interval=PLAY_MS)
        self._play.timeout.connect(self._advance)
        self._reload = QTimer(self, interval=RELOAD_MS)
        self._reload.timeout.connect(self.reload)

    # -- layout ------------------------------------------------------------------------
    def _build(self) -> None:
        self.run_label = QLabel("No run")
        self.run_label.setWordWrap(True)  # a long path wraps rather than widen the window
        self.run_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_button = QPushButton("Open run…")
        self.open_button.setToolTip("A run folder with snapshots/ (weights every N steps)")
        self.open_button.clicked.connect(self._on_open)
        self.view_box = QComboBox()
        for name, text in VIEWS.items():
            self.view_box.addItem(text, name)
        self.view_box.setCurrentIndex(2)
        self.view_box.currentIndexChanged.connect(lambda _i: self.request())
        self.layer_spin = QSpinBox(minimum=1, maximum=1, prefix="layer ")
        self.head_spin = QSpinBox(minimum=1, maximum=1, prefix="head ")
        self.layer_spin.valueChanged.connect(lambda _v: self.request())
        self.head_spin.valueChanged.connect(lambda _v: self.request())
        self.find_button = QPushButton("Find the induction head")
        self.find_button.setToolTip("The head that attends most to the token after an earlier "
                                    "copy of the current one, at the last snapshot")
        self.find_button.clicked.connect(self.select_induction_head)
        self.canvas = FrameCanvas(self)
        self.curves = HeadCurves()  # each head's scores over the snapshots, beside the loss
        self.curves.hide()  # until a run has snapshots
        self.curves.head_clicked.connect(self._on_head_clicked)
        self.demos = DemoButtons()  # the empty state: train a bundled demo
        self.demos.train_requested.connect(self.train_requested)
        self.play_button = QPushButton("▶ Play")
        self.play_button.setToolTip("Step through the snapshots (again: pause)")
        self.play_button.clicked.connect(self.toggle_play)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setPageStep(1)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.valueChanged.connect(self._on_slider)
        self.step_label = QLabel("no snapshots")
        self.step_label.setMinimumWidth(200)
        self.gif_button = QPushButton("Export GIF…")
        self.gif_button.setToolTip("Every snapshot as one frame of an animated GIF, for slides")
        self.gif_button.clicked.connect(self._on_export_gif)
        self.frames_button = QPushButton("Export PNG frames…")
        self.frames_button.clicked.connect(self._on_export_frames)
        first = QHBoxLayout()  # the run and the export
        first.addWidget(self.open_button)
        first.addWidget(self.run_label, 1)
        first.addWidget(self.gif_button)
        first.addWidget(self.frames_button)
        second = QHBoxLayout()  # what is shown
        second.addWidget(self.view_box)
        second.addWidget(self.layer_spin)
        second.addWidget(self.head_spin)
        second.addWidget(self.find_button)
        second.addStretch(1)
        bottom = QHBoxLayout()  # when
        bottom.addWidget(self.play_button)
        bottom.addWidget(self.slider, 1)
        bottom.addWidget(self.step_label)
        root = QVBoxLayout(self)
        root.addLayout(first)
        root.addLayout(second)
        root.addWidget(self.demos)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.canvas)
        split.addWidget(self.curves)
        split.setSizes([760, 500])
        root.addWidget(split, 1)
        self.grokking = GrokkingPanel()  # shown for a grokking run only
        root.addWidget(self.grokking, 2)
        root.addLayout(bottom)
        self._update_controls()

    @property
    def view_name(self) -> str:
        return str(self.view_box.currentData())

    @property
    def curve_steps(self) -> list[int]:
        return self.run.steps if self.run is not None else []

    @property
    def curve_losses(self) -> list[float]:
        return self.run.losses if self.run is not None else []

    def _update_controls(self) -> None:
        n = len(self.run.snapshots) if self.run is not None else 0
        for w in (self.slider, self.play_button, self.gif_button, self.frames_button,
                  self.find_button):
            w.setEnabled(n > 0)
        self.find_button.setVisible(not self.grokking.active)  # no induction head to find

    # -- the run -----------------------------------------------------------------------
    def set_run(self, path: str | Path) -> None:
        """Show the snapshots of the run in ``path`` (the newest first shown is the last)."""
        path = Path(path)
        if self.run is not None and self.run.run_dir == path:
            self.reload()
            return
        self.pause()
        self.demos.hide()
        self.run = TimeLapseRun(path)
        self.frame_cache.clear()
        self.run_label.setText(str(path))
        self.run_label.setToolTip(str(path))
        self._read_total()
        self.grokking.set_run(path)
        self._on_snapshots_changed(jump_to_last=True)

    def _read_total(self) -> None:
        from explorer.state.follow import read_checkpoint_info

        info = read_checkpoint_info(self.run.run_dir) if self.run is not None else None
        steps = info.train_config.get("steps") if info is not None else None
        self.total_steps = steps if isinstance(steps, int) else None

    def reload(self) -> None:
        """Read the run's snapshots and loss curve again (a run still training)."""
        if self.run is None:
            return
        at_end = self.slider.value() >= self.slider.maximum()
        self.grokking.reload()
        if self.run.reload():
            self._read_total()
            if self.auto_head and self.run.snapshots:
                self._pick_induction_head()
            self._on_snapshots_changed(jump_to_last=at_end and not self._play.isActive())

    def _on_snapshots_changed(self, jump_to_last: bool) -> None:
        run = self.run
        n = len(run.snapshots)
        self._update_controls()
        heads = not self.grokking.active  # a grokking run has its own measures below
        if heads:
            self.curves.set_run(run)
        self.curves.setVisible(n > 0 and heads)
        if n == 0:
            self.frame = None
            self.message = (f"{run.run_dir} has no snapshots yet: they appear as the run "
                            "writes them (train with “Snapshot every” > 0).")
            self.step_label.setText("no snapshots")
            self.slider.setRange(0, 0)
            self.canvas.update()
            return
        self.message = ""
        self.slider.blockSignals(True)
        self.slider.setRange(0, n - 1)
        if jump_to_last:
            self.slider.setValue(n - 1)
        self.slider.blockSignals(False)
        self.request()

    def set_text(self, text: str) -> None:
        if text != self.text:
            self.text = text
            self.request()

    # -- frames ------------------------------------------------------------------------
    @property
    def index(self) -> int:
        return self.slider.value()

    def frame_key(self, index: int) -> tuple | None:
        run = self.run
        if run is None or not 0 <= index < len(run.snapshots):
            return None
        snap = run.snapshots[index]
        return (str(snap.path), snap.step, self.text, self.layer_spin.value() - 1,
                self.head_spin.value() - 1)

    def show_index(self, index: int) -> None:
        """Show the snapshot at ``index`` (the slider moves there)."""
        if index != self.slider.value():
            self.slider.setValue(index)  # valueChanged requests the frame
        else:
            self.request()

    def show_step(self, step: int) -> None:
        """Show the snapshot taken at ``step`` (or the last one before it)."""
        if self.run is not None and self.run.snapshots:
            self.show_index(self.run.index_of(step))

    def request(self) -> None:
        key = self.frame_key(self.index)
        if key is None:
            self.canvas.update()
            return
        snap = self.run.snapshots[self.index]
        self.step_label.setText(f"step {snap.step:,} · snapshot {self.index + 1} of "
                                f"{len(self.run.snapshots)}")
        self.grokking.show_step(snap.step)
        cached = self.frame_cache.get(key)
        if cached is not None:
            self._show(key, cached)
            return
        if self._runner is None:
            self._runner = TraceRunner(compute_frame, self)
            self._runner.finished.connect(self._on_computed)
        self._runner.submit((key, self.run, snap, self.text, key[3], key[4]))

    def _on_computed(self, result: Any) -> None:
        if isinstance(result, BaseException):
            self.message = f"the snapshot could not be shown: {result}"
            self.canvas.update()
            return
        key, value = result
        self.frame_cache[key] = value
        if key == self.frame_key(self.index):
            self._show(key, value)

    def _show(self, key: tuple, value: Frame | str) -> None:
        if isinstance(value, str):
            self.frame, self.message = None, value
        else:
            self.frame, self.message = value, ""
            if self.run is not None:
                value.loss = self.run.loss_at(value.step)
            self._set_sizes(value.n_layers, value.n_heads)
            self.curves.set_cursor(value.step)
            self.frame_shown.emit(value.step)
        self.canvas.update()

    def _set_sizes(self, n_layers: int, n_heads: int) -> None:
        for spin, n in ((self.layer_spin, n_layers), (self.head_spin, n_heads)):
            if spin.maximum() != n:
                spin.blockSignals(True)
                spin.setMaximum(n)
                spin.blockSignals(False)

    def _on_slider(self, _value: int) -> None:
        self.request()

    def select_head(self, layer: int, head: int) -> None:
        """Show (layer, head), 0-based."""
        self.layer_spin.blockSignals(True)
        self.head_spin.blockSignals(True)
        self.layer_spin.setMaximum(max(self.layer_spin.maximum(), layer + 1))
        self.head_spin.setMaximum(max(self.head_spin.maximum(), head + 1))
        self.layer_spin.setValue(layer + 1)
        self.head_spin.setValue(head + 1)
        self.layer_spin.blockSignals(False)
        self.head_spin.blockSignals(False)
        self.request()

    def _on_head_clicked(self, layer: int, head: int, step: int) -> None:
        """A head's curve clicked: its pattern at that snapshot."""
        if self.view_name == "output":
            self.view_box.setCurrentIndex(self.view_box.findData("both"))
        self.auto_head = False
        self.select_head(layer, head)
        self.show_step(step)

    def select_induction_head(self) -> None:
        if self.run is None or not self.run.snapshots:
            return
        try:
            layer, head = self.run.strongest_induction_head(self.text)
        except (ValueError, KeyError, OSError) as exc:
            self.error_occurred.emit(f"Time-lapse: {exc}")
            return
        self.select_head(layer, head)

    def _pick_induction_head(self) -> None:
        try:
            layer, head = self.run.strongest_induction_head(self.text)
        except (ValueError, KeyError, OSError):
            return  # not yet (a snapshot still being renamed into place): the next reload
        if (layer, head) != (self.layer_spin.value() - 1, self.head_spin.value() - 1):
            self.select_head(layer, head)

    # -- scenes ------------------------------------------------------------------------
    def apply_view_options(self, options: dict[str, Any]) -> None:
        """A scene's ``view_options`` for this tab (every key optional)::

            {"train": {"preset": "induction"},  # train it in the Train tab and watch it
             "run": DIR, "view": "both", "layer": 1, "head": 0 or "induction", "step": 300}
        """
        if options.get("view") in VIEWS:
            self.view_box.setCurrentIndex(self.view_box.findData(options["view"]))
        head = options.get("head", 0)
        self.auto_head = head == "induction"
        if not self.auto_head:
            self.select_head(int(options.get("layer", 0)), int(head))
        if options.get("run"):
            self.set_run(options["run"])
        if isinstance(options.get("train"), dict):
            self.train_requested.emit(dict(options["train"]))
        if "step" in options:
            self.show_step(int(options["step"]))

    # -- playing -----------------------------------------------------------------------
    def play(self) -> None:
        if self.run is None or len(self.run.snapshots) < 2:
            return
        if self.index >= self.slider.maximum():
            self.show_index(0)
        self._play.start()
        self.play_button.setText("❚❚ Pause")

    def pause(self) -> None:
        self._play.stop()
        self.play_button.setText("▶ Play")

    def toggle_play(self) -> None:
        self.pause() if self._play.isActive() else self.play()

    def _advance(self) -> None:
        if self.index >= self.slider.maximum():
            self.pause()
            return
        self.show_index(self.index + 1)

    # -- export ------------------------------------------------------------------------
    def export_gif(self, path: str | Path) -> Path:
        return export_gif(frame_images(self), path)

    def export_frames(self, folder: str | Path) -> list[Path]:
        return export_png_frames(frame_images(self), folder)

    def _on_export_gif(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the time-lapse as a GIF", "",
                                              "Animated GIF (*.gif)")
        if path:
            self._export(lambda: self.export_gif(path if path.endswith(".gif")
                                                 else path + ".gif"))

    def _on_export_frames(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export the frames as PNG into a folder")
        if folder:
            self._export(lambda: self.export_frames(folder))

    def _export(self, write) -> None:
        try:
            write()
        except ValueError as exc:
            self.error_occurred.emit(f"Export failed: {exc}")

    def _on_open(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a run folder with snapshots")
        if folder:
            self.set_run(folder)

    # -- visibility, shutdown ----------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802 (Qt)
        super().showEvent(event)
        self._reload.start()
        self.reload()

    def hideEvent(self, event) -> None:  # noqa: N802 (Qt)
        super().hideEvent(event)
        self._reload.stop()

    def shutdown(self) -> None:
        self.pause()
        self._reload.stop()
        self.curves.shutdown()
        if self._runner is not None:
            self._runner.stop()
