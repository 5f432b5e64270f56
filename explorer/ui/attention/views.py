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
  - ``set_second(trace_b, x_labels_b, z_labels_b=None)``: a second text B's trace (None:
    no comparison). While one is set, the compare bar offers "A", "B" and "A − B"
    (``set_mode(mode)``, ``mode``): B shows B's pattern, lines and grid; A − B shows the
    open head's difference on the tokens both texts share (A's lines and grid stay).
  - Children: ``pattern`` (AttentionPatternWidget), ``lines`` (AttentionLinesWidget),
    ``grid`` (HeadGridWidget), ``compare_bar`` (with ``mode_buttons`` and ``compare_note``).
- Re-exported: ``AttentionPatternWidget`` (attention_pattern.py), ``HeadGridWidget``
  (head_grid.py), ``AttentionLinesWidget`` (attention_lines.py), ``AttentionSite``,
  ``attention_sections``, ``head_weights`` (attention_data.py); see each module's docstring.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from explorer.state.attention_data import (
    AttentionSite,
    attention_sections,
    attention_sites,
    head_weights,
    mask_note,
    site_labels,
)
from explorer.state.compare import MODES, pattern_comparison
from explorer.ui.attention.head_grid import HeadGridWidget
from explorer.ui.attention.lines import AttentionLinesWidget
from explorer.ui.attention.pattern import AttentionPatternWidget
from explorer.ui.widgets.export_parts import ViewParts
from explorer.ui.widgets.style import scaled_font

__all__ = [
    "AttentionLinesWidget",
    "AttentionPanel",
    "AttentionPatternWidget",
    "AttentionSite",
    "HeadGridWidget",
    "attention_sections",
    "head_weights",
]

SHORT_HEIGHT = 640  # below this the pattern gets more of the height than the head grid
FORMULA = "A = softmax(S / √d_attn), each column sums to 1"


def _labels(given: Sequence[str] | None, n: int) -> list[str]:
    if given is not None and len(given) == n:
        return [str(s) for s in given]
    return [f"t{i + 1}" for i in range(n)]


def _pair_labels(a: list[str], b: list[str]) -> list[str]:
    """A position's token in A, or "a/b" where text B has another token there."""
    return [x if x == y else f"{x}/{y}" for x, y in zip(a, b)]


class AttentionPanel(QWidget):
    """Attention pattern, lines and the head grid of one trace, kept in step."""

    head_selected = Signal(str, int, int)
    # right click on a head (prefix, layer, head, where) or on the open head's weight
    # A[key, query] (prefix, layer, head, key, query, weight, where); X on a head
    head_menu_requested = Signal(str, int, int, QPoint)
    cell_menu_requested = Signal(str, int, int, int, int, float, QPoint)
    ablate_requested = Signal(str, int, int)

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
        self._a: tuple = (None, None, None)  # A's trace and labels
        self._b: tuple | None = None  # B's, while comparing
        self.mode = "A"
        self._wanted_mode = "A"  # B or A − B asked for before B's trace arrived
        self._build_compare_bar()

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
        layout.addWidget(self.compare_bar)
        layout.addWidget(self.columns)

        self.grid.head_selected.connect(self._on_grid_head_selected)
        self.grid.context_requested.connect(self.head_menu_requested)
        self.grid.ablate_requested.connect(self.ablate_requested)
        self.pattern.cell_context.connect(self._on_cell_context)
        self.lines.head_changed.connect(self._on_lines_head_changed)
        self.pattern.cell_hovered.connect(self._on_pattern_cell_hovered)
        self.pattern.clear("No attention yet: type some text.")
        self._short: bool | None = None  # laid out for a short screen (``resizeEvent``)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        """On a short screen (a 1280x720 projector) the pattern gets three quarters of the
        height, the head grid the rest; taller again, the usual share. Only when the
        height crosses ``SHORT_HEIGHT``: a split the user drags stays."""
        super().resizeEvent(event)
        short = self.height() < SHORT_HEIGHT
        if short != self._short:
            self._short = short
            total = sum(self.splitter.sizes()) or self.height()
            share = 0.78 if short else 0.66
            self.splitter.setSizes([int(total * share), total - int(total * share)])

    def _build_compare_bar(self) -> None:
        self.compare_bar = QWidget()
        row = QHBoxLayout(self.compare_bar)
        row.setContentsMargins(6, 2, 6, 2)
        shown = QLabel("Show:")
        shown.setFont(scaled_font(self, 1.1))
        row.addWidget(shown)
        self.mode_group = QButtonGroup(self)
        self.mode_buttons: dict[str, QToolButton] = {}
        tips = {"A": "The pattern on the text x (A)",
                "B": "The pattern on the second text B",
                "A − B": "A minus B on the tokens both texts share: red where A attends "
                         "more, blue where B does"}
        for mode in MODES:
            button = QToolButton()
            button.setText(f"  {mode}  ")
            button.setCheckable(True)
            button.setToolTip(tips[mode])
            button.setFont(scaled_font(self, 1.1, bold=True))
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            self.mode_group.addButton(button)
            self.mode_buttons[mode] = button
            button.clicked.connect(lambda _=False, m=mode: self.set_mode(m))
            row.addWidget(button)
        self.mode_buttons["A"].setChecked(True)
        self.compare_note = QLabel("")
        self.compare_note.setWordWrap(True)
        self.compare_note.setFont(scaled_font(self, 1.0))
        row.addWidget(self.compare_note, 1)
        self.compare_bar.hide()

    def set_second(self, trace_b, x_labels_b: Sequence[str] | None,
                   z_labels_b: Sequence[str] | None = None) -> None:
        """Text B's trace to compare with (None: no comparison; back to A)."""
        self._b = None if trace_b is None else (trace_b, x_labels_b, z_labels_b)
        self.compare_bar.setVisible(self._b is not None)
        if self._b is None:
            self.mode = "A"
            self.mode_buttons["A"].setChecked(True)
        elif self._wanted_mode != self.mode:
            self.mode = self._wanted_mode
            self.mode_buttons[self.mode].setChecked(True)
        self._show()

    def set_mode(self, mode: str) -> None:
        """Show A, B or A − B (``MODES``); B and A − B need a second text."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        self._wanted_mode = mode
        if mode != "A" and self._b is None:
            mode = "A"  # until B's trace arrives
        self.mode = mode
        self.mode_buttons[mode].setChecked(True)
        self._show()

    def set_trace(self, trace, x_labels: Sequence[str] | None,
                  z_labels: Sequence[str] | None = None, batch: int = 0) -> None:
        self._a = (trace, x_labels, z_labels)
        self._batch = batch
        self._show()

    def _show(self) -> None:
        """Show A's or B's trace (as the mode says)."""
        trace, x_labels, z_labels = self._b if self.mode == "B" and self._b else self._a
        if trace is None:
            return
        self._show_trace(trace, x_labels, z_labels, self._batch)

    def _show_trace(self, trace, x_labels: Sequence[str] | None,
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
        title = site.title(head) + {"A": "", "B": " · text B", "A − B": " · A − B"}[self.mode]
        self.pattern.set_pattern(weights[head], masked[head], queries, keys, title, note)
        self.compare_note.setText("")
        if self.mode == "A − B" and self._b is not None:
            self._show_difference(prefix, head, queries, keys, masked[head], title)
        elif self.mode == "B":
            self.compare_note.setText("Pattern, lines and grid show text B.")
        self.lines.set_attention(weights, masked, queries, keys, site.title(None))
        if self.lines.head is not None:
            self.lines.set_head(head)
            self.lines.title_label.setText(site.title(head))
        self.grid.set_selected(prefix, head)

    def _show_difference(self, prefix: str, head: int, queries: list[str], keys: list[str],
                         masked: np.ndarray, title: str) -> None:
        try:
            diff = pattern_comparison(self._a[0], self._b[0], prefix, head)
        except ValueError as exc:
            self.compare_note.setText(f"Cannot compare: {exc}.")
            return
        lz, lx = diff.diff.shape
        values = diff.diff.numpy()
        site = AttentionSite.parse(prefix)
        queries_b, keys_b = site_labels(site, list(self._b[1] or []), self._b[2])
        queries = _pair_labels(queries[:lx], _labels(queries_b, lx)[:lx])
        keys = _pair_labels(keys[:lz], _labels(keys_b, lz)[:lz])
        note = diff.note or "A and B have the same number of tokens."
        self.compare_note.setText(f"Red: A attends more; blue: B does. Lines and grid show "
                                  f"A. {note}")
        self.pattern.set_pattern(values, masked[:lz, :lx], queries, keys, title,
                                 "A_A − A_B, on one colour scale from −1 to 1", signed=True)

    def _on_grid_head_selected(self, prefix: str, layer: int, head: int) -> None:
        self.select(prefix, layer, head)
        if self.lines.head is None:
            self.lines.set_head(head)
            self.lines.title_label.setText(AttentionSite.parse(prefix).title(head))
        self.head_selected.emit(prefix, layer, head)

    def _on_cell_context(self, key: int, query: int, where: QPoint) -> None:
        if self.current is None or self.mode != "A":
            return  # B's pattern or a difference: nothing of A's run to edit there
        prefix, layer, head = self.current
        weight = float(self.pattern.weights[key, query])
        if bool(self.pattern.masked[key, query]):
            return  # a masked weight is 0 by the mask, not by the model
        self.cell_menu_requested.emit(prefix, layer, head, key, query, weight, where)

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


