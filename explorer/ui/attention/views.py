"""The attention views together: one head's pattern, token-to-token lines, all heads as a grid.

Public API (all widgets take data; none runs a model):

- ``AttentionPanel(parent=None)``: pattern and lines side by side, the head grid below
  (in a vertical splitter).
  - ``set_trace(trace, x_labels, z_labels=None, batch=0)``: ``x_labels`` are the tokens of x
    (decoder-only, encoder-only, and the decoder side of the encoder-decoder); ``z_labels`` the
    encoder's tokens z (encoder-decoder only). Keeps the current (prefix, head) when the new
    trace still has it, else opens the first head of the first layer. Labels whose count does
    not match the trace fall back to "t1", "t2", ....
  - ``select(prefix, layer, head)``: open one head without emitting; ``prefix`` like
    ``"blocks.1.attn"``, ``"encoder.blocks.0.attn"``, ``"decoder.blocks.0.attn"`` or
    ``"decoder.blocks.0.cross_attn"`` (the step-name prefix; ``layer`` is its layer, 0-based,
    ``head`` 0-based). Raises KeyError for a prefix the trace does not have.
  - ``current`` -> (prefix, layer, head) or None.
  - Signal ``head_selected(str prefix, int layer, int head)`` when the user opens a head (a
    thumbnail click, or a head picked in the lines view).
  - Children: ``pattern`` (AttentionPatternWidget), ``lines`` (AttentionLinesWidget),
    ``grid`` (HeadGridWidget).
- Re-exported: ``AttentionPatternWidget`` (attention_pattern.py), ``HeadGridWidget``
  (head_grid.py), ``AttentionLinesWidget`` (attention_lines.py), ``AttentionSite``,
  ``attention_sections``, ``head_weights`` (attention_data.py); see each module's docstring.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

from explorer.state.attention_data import (
    AttentionSite,
    attention_sections,
    attention_sites,
    head_weights,
    mask_note,
    site_labels,
)
from explorer.ui.attention.head_grid import HeadGridWidget
from explorer.ui.attention.lines import AttentionLinesWidget
from explorer.ui.attention.pattern import AttentionPatternWidget
from explorer.ui.widgets.export_parts import ViewParts

__all__ = [
    "AttentionLinesWidget",
    "AttentionPanel",
    "AttentionPatternWidget",
    "AttentionSite",
    "HeadGridWidget",
    "attention_sections",
    "head_weights",
]

FORMULA = "A = softmax(S / √d_attn), each column sums to 1"


def _labels(given: Sequence[str] | None, n: int) -> list[str]:
    if given is not None and len(given) == n:
        return [str(s) for s in given]
    return [f"t{i + 1}" for i in range(n)]


class AttentionPanel(QWidget):
    """Attention pattern, lines and the head grid of one trace, kept in step."""

    head_selected = Signal(str, int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pattern = AttentionPatternWidget()
        self.lines = AttentionLinesWidget()
        self.grid = HeadGridWidget()
        self.kv_label = QLabel("")  # grouped-query attention: which heads share K and V
        self.kv_label.setWordWrap(True)
        self.kv_label.hide()
        self._trace = None
        self._batch = 0
        self._x_labels: list[str] | None = None
        self._z_labels: list[str] | None = None
        self._cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.current: tuple[str, int, int] | None = None

        # Left: the selected head's pattern above the grid of all heads; right: the lines
        # view over the full height, so each token row stays readable.
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.pattern)
        self.splitter.addWidget(self.grid)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([620, 320])
        self.columns = QSplitter(Qt.Orientation.Horizontal)
        self.columns.addWidget(self.splitter)
        self.columns.addWidget(self.lines)
        self.columns.setStretchFactor(0, 3)
        self.columns.setStretchFactor(1, 2)
        self.columns.setSizes([600, 400])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.kv_label)
        layout.addWidget(self.columns)

        self.grid.head_selected.connect(self._on_grid_head_selected)
        self.lines.head_changed.connect(self._on_lines_head_changed)
        self.pattern.cell_hovered.connect(self._on_pattern_cell_hovered)
        self.pattern.clear("No attention yet: type some text.")

    def set_trace(self, trace, x_labels: Sequence[str] | None,
                  z_labels: Sequence[str] | None = None, batch: int = 0) -> None:
        self._trace, self._batch = trace, batch
        self._x_labels = list(x_labels) if x_labels is not None else None
        self._z_labels = list(z_labels) if z_labels is not None else None
        self._cache = {}
        kinds_before = len(self.grid.section_titles())
        self.grid.set_trace(trace, batch)
        kinds = len(self.grid.section_titles())
        if kinds != kinds_before and kinds:  # three kinds of attention (Alg 8) need more room
            total = sum(self.splitter.sizes()) or 940
            share = 0.25 if kinds == 1 else 0.45
            self.splitter.setSizes([round(total * (1 - share)), round(total * share)])
        sites = attention_sites(trace)
        if not sites:
            self.current = None
            self.pattern.clear("This trace records no attention pattern.")
            return
        prefixes = {s.prefix for s in sites}
        if self.current is not None and self.current[0] in prefixes:
            prefix, layer, head = self.current
            n_heads = self._weights(prefix)[0].shape[0]
            self.select(prefix, layer, min(head, n_heads - 1))
        else:
            self.select(sites[0].prefix, sites[0].layer, 0)

    def _weights(self, prefix: str) -> tuple[np.ndarray, np.ndarray]:
        if prefix not in self._cache:
            self._cache[prefix] = head_weights(self._trace, prefix, self._batch)
        return self._cache[prefix]

    def select(self, prefix: str, layer: int, head: int) -> None:
        """Open head ``head`` of attention site ``prefix`` (no signal)."""
        if self._trace is None:
            raise KeyError("no trace yet: call set_trace first")
        site = AttentionSite.parse(prefix)
        weights, masked = self._weights(prefix)
        if not 0 <= head < weights.shape[0]:
            raise KeyError(f"{prefix} has heads 0..{weights.shape[0] - 1}, not {head}")
        _, lz, lx = weights.shape
        queries, keys = site_labels(site, self._x_labels or [], self._z_labels)
        queries, keys = _labels(queries, lx), _labels(keys, lz)
        self.current = (prefix, site.layer, head)
        note = f"{FORMULA} · {mask_note(site, masked)}"
        self.pattern.set_pattern(weights[head], masked[head], queries, keys,
                                 site.title(head), note)
        self.lines.set_attention(weights, masked, queries, keys, site.title(None))
        if self.lines.head is not None:
            self.lines.set_head(head)
            self.lines.title_label.setText(site.title(head))
        self.grid.set_selected(prefix, head)

    def _on_grid_head_selected(self, prefix: str, layer: int, head: int) -> None:
        self.select(prefix, layer, head)
        if self.lines.head is None:
            self.lines.set_head(head)
            self.lines.title_label.setText(AttentionSite.parse(prefix).title(head))
        self.head_selected.emit(prefix, layer, head)

    def _on_lines_head_changed(self, head: int) -> None:
        if self.current is None:
            return
        prefix, layer, _ = self.current
        site = AttentionSite.parse(prefix)
        self.lines.title_label.setText(site.title(None if head < 0 else head))
        if head >= 0:
            self.select(prefix, layer, head)
            self.head_selected.emit(prefix, layer, head)

    def _on_pattern_cell_hovered(self, row: int, col: int) -> None:
        if col < 0:
            self.lines.clear_highlight()
        else:
            self.lines.set_highlight("query", col)

    def set_kv_note(self, note: str) -> None:
        """Say which query heads share a key/value head (grouped-query attention)."""
        self.kv_label.setText(note)
        self.kv_label.setVisible(bool(note))
        self.grid.setToolTip("Every head of every layer: click a thumbnail to open that "
                             "head." + (f"\n{note}" if note else ""))

    def export_parts(self) -> ViewParts:
        """Exporting the Attention tab exports the open head's pattern."""
        return self.pattern.export_parts()


