"""The composition root: which tabs the window has, in order. The only module that
imports every feature package's panel."""

from __future__ import annotations

from explorer.ui.attention.panel import AttentionTab
from explorer.ui.infer.tab import InferenceTab
from explorer.ui.interventions.panel import InterventionsPanel
from explorer.ui.lens.panel import LensTab
from explorer.ui.output.panel import OutputTab
from explorer.ui.tokens.lab import TokenizerTab
from explorer.ui.train.tab import TrainTab
from explorer.ui.widgets.panel import Panel


def default_panels() -> list[Panel]:
    """The tabs after "Step", built once torch is loaded (they import it)."""
    return [AttentionTab(), OutputTab(), LensTab(), InferenceTab(), TrainTab(),
            TokenizerTab(), InterventionsPanel()]
