"""The composition root: which tabs the window has, in order. The only module that
imports every feature package's panel."""

from __future__ import annotations

from explorer.ui.architectures.panel import SideBySideTab
from explorer.ui.attention.panel import AttentionTab
from explorer.ui.circuit.panel import CircuitPanel
from explorer.ui.infer.tab import InferenceTab
from explorer.ui.inspect.heatmap_view import HeatmapWidget
from explorer.ui.interventions.panel import InterventionsPanel
from explorer.ui.lens.panel import LensTab
from explorer.ui.output.panel import OutputTab
from explorer.ui.sae.panel import SAETab
from explorer.ui.timelapse.tab import TimeLapseTab
from explorer.ui.tokens.lab import TokenizerTab
from explorer.ui.train.tab import TrainTab
from explorer.ui.widgets.panel import Panel


def default_panels() -> list[Panel]:
    """The tabs after "Step", built once torch is loaded (they import it)."""
    return [AttentionTab(), OutputTab(), LensTab(), InferenceTab(), TrainTab(),
            TimeLapseTab(), SideBySideTab(HeatmapWidget),  # each column: the Step tab's view
            TokenizerTab(), CircuitPanel(), SAETab(), InterventionsPanel()]


def connect_panels(panels: list[Panel]) -> None:
    """What one tab tells another, through the window: the Time-lapse shows the run the
    Train tab trains or follows, and a scene's training request starts in the Train tab."""
    by_title = {p.title: p for p in panels}
    train, lapse = by_title.get("Train"), by_title.get("Time-lapse")
    if train is None or lapse is None:
        return
    panel = train.view
    panel.training_started.connect(lambda: lapse.set_run(str(panel.run_dir or "")))
    panel.run_followed.connect(lapse.set_run)
    panel.followed_snapshots.connect(lambda _run: lapse.view.reload())
    lapse.view.train_requested.connect(panel.start_preset)
