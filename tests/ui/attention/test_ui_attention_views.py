"""Attention views on real traces: the mask drawn as such, thumbnails open heads, lines hover."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from PySide6.QtCore import QEvent, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QMouseEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from explorer.core import ModelConfig, build_model  # noqa: E402
from explorer.state.attention_data import (  # noqa: E402
    AttentionSite,
    attention_sections,
    head_weights,
    mask_note,
)
from explorer.trace import record  # noqa: E402
from explorer.ui.attention.head_grid import HeadGridWidget  # noqa: E402
from explorer.ui.attention.lines import AttentionLinesWidget  # noqa: E402
from explorer.ui.attention.pattern import AttentionPatternWidget  # noqa: E402
from explorer.ui.attention.views import AttentionPanel  # noqa: E402
from explorer.ui.widgets.style import pattern_lut  # noqa: E402

X_WORDS = ["The", " cat", " sat", " on", " the", " mat", "."]
Z_WORDS = ["Le", " chat", " est", " assis", "."]


def _trace(arch: str, l_x: int = 7, l_z: int = 5, seed: int = 0):
    torch.manual_seed(seed)
    cfg = ModelConfig(arch=arch, vocab_size=32, l_max=32, d_e=18, n_heads=3, n_layers=2)
    model = build_model(cfg).eval()
    with torch.no_grad():  # sharper patterns, as a trained model has
        for name, p in model.named_parameters():
            if name.endswith(("W_q.weight", "W_k.weight")):
                p.mul_(8)
    x = torch.randint(0, 32, (1, l_x))
    if arch == "encoder-decoder":
        _, trace = record(model, torch.randint(0, 32, (1, l_z)), x)
    else:
        _, trace = record(model, x)
    return trace


@pytest.fixture(scope="module")
def traces():
    return {arch: _trace(arch) for arch in ("decoder", "encoder", "encoder-decoder")}


def _move(widget, point: QPointF) -> None:
    event = QMouseEvent(QEvent.Type.MouseMove, point, widget.mapToGlobal(point),
                        Qt.MouseButton.NoButton, Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def test_pattern_is_the_paper_orientation_and_mask_comes_from_minus_infinity(traces) -> None:
    trace = traces["decoder"]
    weights, masked = head_weights(trace, "blocks.0.attn")
    torch_layout = trace["blocks.0.attn.pattern"][0].numpy()  # (H, l_x, l_z)
    np.testing.assert_allclose(weights, torch_layout.transpose(0, 2, 1))
    causal = np.tril(np.ones((7, 7), bool), -1)  # keys after the query: t_z > t_x
    assert (masked == causal).all()
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-5)  # columns sum to 1
    assert mask_note(AttentionSite.parse("blocks.0.attn"), masked).startswith("causal")
    _, enc_masked = head_weights(traces["encoder"], "blocks.0.attn")
    assert not enc_masked.any()


def test_masked_cells_render_distinct_from_tiny_probabilities(qtbot, traces,
                                                              tmp_path: Path) -> None:
    trace = traces["decoder"]
    weights, masked = head_weights(trace, "blocks.1.attn")
    head = 0
    free = np.where(masked[head], np.inf, weights[head])
    row, col = np.unravel_index(np.argmin(free), free.shape)  # the smallest allowed weight
    assert weights[head, row, col] < 0.2
    widget = AttentionPatternWidget()
    qtbot.addWidget(widget)
    widget.resize(700, 650)
    widget.show()
    site = AttentionSite.parse("blocks.1.attn")
    widget.set_pattern(weights[head], masked[head], X_WORDS, X_WORDS, site.title(head))
    qtbot.waitExposed(widget)
    masked_rgba = widget.cell_rgba(5, 1)  # key 6 after query 2: masked
    tiny_rgba = widget.cell_rgba(int(row), int(col))
    assert masked[head, 5, 1]
    assert masked_rgba != tiny_rgba
    assert masked_rgba[0] == masked_rgba[1] == masked_rgba[2]  # grey, not on the colour map
    lut = pattern_lut()[int(weights[head, row, col] * 255 + 0.5)]
    assert np.abs(np.array(tiny_rgba[:3]) - lut[:3]).max() <= 12  # the colour map's low end
    assert "masked" in widget.legend_label.text()
    assert widget.title_label.text() == "Layer 2 · head 1 · self-attention"
    assert widget.key_axis.labels[1] == "␣cat" and widget.query_axis.labels[0] == "The"
    assert "masked" in widget.hover_at(5, 1)
    assert f"{weights[head, 0, 3]:.4f}" in widget.hover_at(0, 3)
    # a real hover over the scene writes the exact value, the query and the key
    scene_pos = widget.plot.getViewBox().mapViewToScene(QPointF(3, 0))
    widget.plot.scene().sigMouseMoved.emit(scene_pos)
    assert "“␣on” (t_x = 4)" in widget.hover_label.text()
    assert "“The” (t_z = 1)" in widget.hover_label.text()
    path = tmp_path / "views_pattern.png"
    assert widget.grab().save(str(path)) and path.stat().st_size > 5000


def test_cross_attention_pattern_is_labelled_with_both_sequences(qtbot, traces) -> None:
    panel = AttentionPanel()
    qtbot.addWidget(panel)
    panel.resize(1300, 900)
    panel.set_trace(traces["encoder-decoder"], X_WORDS, Z_WORDS)
    panel.select("decoder.blocks.1.cross_attn", 1, 2)
    title = panel.pattern.title_label.text()
    assert title == "Decoder layer 2 · head 3 · cross-attention (decoder over encoder tokens)"
    assert panel.pattern.weights.shape == (5, 7)  # keys: encoder tokens, queries: decoder
    assert panel.pattern.key_labels == Z_WORDS and panel.pattern.query_labels == X_WORDS
    assert "none here" in panel.pattern.legend_label.text()
    panel.select("decoder.blocks.0.attn", 0, 0)
    assert "self-attention" in panel.pattern.title_label.text()
    assert panel.pattern.masked.any()
    panel.select("encoder.blocks.0.attn", 0, 1)
    assert panel.pattern.key_labels == Z_WORDS and panel.pattern.query_labels == Z_WORDS
    with pytest.raises(KeyError):
        panel.select("blocks.0.attn", 0, 0)


def test_grid_sections_and_thumbnail_click_emits_head_selected(qtbot, traces) -> None:
    grid = HeadGridWidget()
    qtbot.addWidget(grid)
    grid.resize(900, 400)
    grid.show()
    grid.set_trace(traces["encoder-decoder"])
    assert grid.section_titles() == ["encoder self-attention", "decoder self-attention",
                                     "decoder cross-attention"]
    rect = grid.thumbnail_rect("decoder.blocks.1.cross_attn", 2)
    with qtbot.waitSignal(grid.head_selected, timeout=1000) as blocker:
        qtbot.mouseClick(grid, Qt.MouseButton.LeftButton, pos=rect.center().toPoint())
    assert blocker.args == ["decoder.blocks.1.cross_attn", 1, 2]
    assert grid.selected == ("decoder.blocks.1.cross_attn", 2)
    # keyboard: left moves to head 2 of the same layer and opens it
    with qtbot.waitSignal(grid.head_selected, timeout=1000) as blocker:
        qtbot.keyClick(grid, Qt.Key.Key_Left)
    assert blocker.args == ["decoder.blocks.1.cross_attn", 1, 1]

    grid.set_trace(traces["decoder"])
    assert grid.section_titles() == ["self-attention"]
    for layer in range(2):
        for head in range(3):
            assert grid.thumbnail_rect(f"blocks.{layer}.attn", head).width() >= 14
    assert grid.selected is None  # the old selection is not in this model


def test_panel_reemits_thumbnail_clicks_and_keeps_the_head_across_traces(qtbot, traces) -> None:
    panel = AttentionPanel()
    qtbot.addWidget(panel)
    panel.resize(1300, 900)
    panel.show()
    panel.set_trace(traces["decoder"], X_WORDS)
    assert panel.current == ("blocks.0.attn", 0, 0)
    qtbot.waitExposed(panel)
    rect = panel.grid.thumbnail_rect("blocks.1.attn", 1)
    with qtbot.waitSignal(panel.head_selected, timeout=1000) as blocker:
        qtbot.mouseClick(panel.grid, Qt.MouseButton.LeftButton, pos=rect.center().toPoint())
    assert blocker.args == ["blocks.1.attn", 1, 1]
    assert panel.current == ("blocks.1.attn", 1, 1)
    assert panel.pattern.title_label.text() == "Layer 2 · head 2 · self-attention"
    assert panel.lines.head == 1
    new_trace = _trace("decoder", l_x=5, seed=3)
    panel.set_trace(new_trace, X_WORDS[:5])
    assert panel.current == ("blocks.1.attn", 1, 1)
    assert panel.pattern.weights.shape == (5, 5)
    panel.set_trace(new_trace, ["only", "two"])  # wrong count: positions instead, no crash
    assert panel.pattern.query_labels == ["t1", "t2", "t3", "t4", "t5"]


def test_lines_hover_highlights_where_a_token_attends(qtbot, traces, tmp_path: Path) -> None:
    trace = traces["decoder"]
    weights, masked = head_weights(trace, "blocks.1.attn")
    lines = AttentionLinesWidget()
    qtbot.addWidget(lines)
    lines.resize(620, 560)
    lines.show()
    lines.set_attention(weights, masked, X_WORDS, X_WORDS, "Layer 2 · all heads")
    qtbot.waitExposed(lines)
    assert lines.highlighted is None and lines.head is None
    canvas = lines.canvas
    _move(canvas, canvas.token_rect("query", 2).center())
    assert lines.highlighted == ("query", 2)
    side, shown, shown_masked = canvas.focus_weights()
    assert side == "key"
    np.testing.assert_allclose(shown, weights[:, :, 2].mean(axis=0), rtol=1e-6)
    assert list(shown_masked) == [False, False, False, True, True, True, True]
    with qtbot.waitSignal(lines.head_changed, timeout=1000) as blocker:
        lines.head_box.setCurrentIndex(2)
    assert blocker.args == [1] and lines.head == 1
    np.testing.assert_allclose(canvas.focus_weights()[1], weights[1, :, 2])
    path = tmp_path / "views_lines.png"
    assert lines.grab().save(str(path)) and path.stat().st_size > 5000
    _move(canvas, canvas.token_rect("key", 0).center())
    assert lines.highlighted == ("key", 0)
    QApplication.sendEvent(canvas, QEvent(QEvent.Type.Leave))
    assert lines.highlighted is None


def test_sections_follow_the_architecture(traces) -> None:
    assert [t for t, _ in attention_sections(traces["encoder"])] == ["self-attention"]
    sections = dict(attention_sections(traces["encoder-decoder"]))
    assert [s.prefix for s in sections["decoder cross-attention"]] == [
        "decoder.blocks.0.cross_attn", "decoder.blocks.1.cross_attn"]
    with pytest.raises(ValueError, match="not an attention step prefix"):
        AttentionSite.parse("blocks.0.mlp")


class _Painter:
    """Records what a canvas draws (the lines' end points, pens and smoothing)."""

    def __init__(self) -> None:
        self.lines: list[tuple[float, float, float]] = []  # y at the query, y at the key, width
        self.smooth: list[bool] = []
        self._width = 0.0

    def setRenderHint(self, hint, on=True) -> None:  # noqa: N802 (QPainter's name)
        self.smooth.append(bool(on))

    def setPen(self, pen) -> None:  # noqa: N802
        self._width = pen.widthF()

    def drawLine(self, a, b) -> None:  # noqa: N802
        self.lines.append((a.y(), b.y(), self._width))


def test_a_long_texts_lines_are_the_strongest_in_view(qtbot) -> None:
    """256 tokens, 4 heads: ~10⁵ lines of weight ≥ 1 %; a repaint draws, per head, the
    strongest that cross the part of the canvas in view, without smoothing; a short text
    draws every line, smoothed, as before."""
    from PySide6.QtCore import QRectF

    from explorer.ui.attention.lines import MAX_LINES, MIN_WEIGHT, SMOOTH_LINES, LinesCanvas

    rng = np.random.default_rng(0)
    n, heads = 256, 4
    weights = rng.random((heads, n, n)).astype(np.float32)
    weights /= weights.sum(axis=1, keepdims=True) / 4.0  # ~4/256 each: most above 1 %
    masked = np.zeros_like(weights, dtype=bool)
    labels = [f"t{i}" for i in range(n)]
    canvas = LinesCanvas()
    qtbot.addWidget(canvas)
    canvas.resize(520, 560)
    canvas.set_data(weights, masked, labels, labels)
    view = QRectF(0, 0, 520, 500)
    painter = _Painter()
    canvas._paint_lines(painter, view)
    row, _, top = canvas._geometry()
    assert 0 < len(painter.lines) <= MAX_LINES and painter.smooth == [False]
    for y_query, y_key, _ in painter.lines:
        assert min(y_query, y_key) <= view.bottom()  # each crosses the part in view
    k, q = np.nonzero(weights[0] >= MIN_WEIGHT)
    crossing = np.minimum(top + (k + 0.5) * row, top + (q + 0.5) * row) <= view.bottom()
    weakest_drawn = np.sort(weights[0][k[crossing], q[crossing]])[-(MAX_LINES // heads)]
    drawn = painter.lines[:MAX_LINES // heads]  # head 0's, weakest first
    assert abs((drawn[0][2] - 1.0) / 6.0 - weakest_drawn) < 1e-4

    short = np.full((1, 5, 5), 0.2, dtype=np.float32)
    canvas.set_data(short, np.zeros_like(short, dtype=bool), labels[:5], labels[:5])
    painter = _Painter()
    canvas._paint_lines(painter, None)
    assert len(painter.lines) == 25 <= SMOOTH_LINES and painter.smooth == [True]
