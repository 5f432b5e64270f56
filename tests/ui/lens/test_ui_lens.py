"""The Lens tab in the real window: the logit lens grid and the per-token loss follow the
typing, its last row is the Output tab's distribution, a column plots the target over
depth, a head opens its attention pattern, a PCA point highlights in the grid, bad
requests show as messages and two inputs compare."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from PySide6.QtCore import QPointF, Qt  # noqa: E402

from explorer.analysis import logit_lens, token_loss  # noqa: E402
from explorer.ui.lens.view import LensView  # noqa: E402
from tests.ui.conftest import up_to_date  # noqa: E402

TIMEOUT = 30_000


def lens_tab(window):
    window.show_tab("Lens")
    tab = window.panel("Lens")
    settle(window, tab)
    return tab


def settle(window, tab) -> None:
    """Wait until the trace follows the text and the tab's analyses follow the trace."""
    def done() -> bool:
        s = window.session
        job = tab.last_job
        return (s.trace is not None and s.trace_inputs[0] == s.x_labels
                and window.tracing.runner.idle() and not window.tracing.edit_pending()
                and not tab.busy() and job is not None and job.full
                and list(job.ids) == model_ids(window))

    window.app_qtbot.waitUntil(done, timeout=TIMEOUT)


def model_ids(window) -> list[int]:
    prefix = "decoder." if window.session.arch == "encoder-decoder" else ""
    return window.session.trace[f"{prefix}embed.ids"][0].tolist()


@pytest.fixture
def window(open_window, qtbot):
    w = open_window(arch="decoder", text="the king sings .")
    w.app_qtbot = qtbot
    w.resize(1400, 900)
    return w


def test_typing_updates_the_lens_grid_and_the_loss_colours(window, qtbot) -> None:
    tab = lens_tab(window)
    grid = tab.view.grid
    before = grid.lens.ids.tolist()
    shading_before = window.tokens_view.token_shading()
    assert shading_before  # the tokens of the strip are coloured by their loss
    box = window.inputs.text
    box.setFocus()
    box.moveCursor(box.textCursor().MoveOperation.End)
    qtbot.keyClicks(box, " the queen")
    settle(window, tab)
    ids = model_ids(window)
    assert grid.lens.ids.tolist() == ids and len(ids) == len(before) + 10
    expected = logit_lens(window.session.model, ids)
    assert torch.equal(grid.lens.top_ids, expected.top_ids)
    loss = token_loss(window.session.model, ids)
    shown = tab.last_job.loss
    torch.testing.assert_close(shown.per_position, loss.per_position, equal_nan=True)
    assert f"mean {loss.mean:.3f} nats" in grid.loss_summary()
    assert f"total {loss.total:.2f} nats" in grid.loss_summary()
    shading = window.tokens_view.token_shading()
    assert set(shading) == set(range(1, len(ids)))  # every token something predicts
    assert shading != shading_before
    worst = int(np.nanargmax(loss.per_position.numpy()))
    reds = {i: int(c[3:5], 16) for i, c in shading.items()}  # the green channel
    assert reds[worst] == min(reds.values())  # the most surprising token is the reddest


def test_the_last_lens_row_is_the_output_views_distribution(window) -> None:
    tab = lens_tab(window)
    lens = tab.view.grid.lens
    output = window.panel("Output").view
    up_to_date(window)  # the Output tab, behind the Lens tab
    t = len(lens.ids) - 1
    assert output.position == t
    p = output.base_distribution()
    order = np.argsort(-p, kind="stable")[:5]
    assert lens.top_ids[-1, t].tolist() == order.tolist()
    np.testing.assert_allclose(lens.top_probs[-1, t].double().numpy(), p[order], rtol=1e-6,
                               atol=1e-7)
    assert tab.view.grid.cell_text(len(lens.points) - 1, t) == tab._vocab[int(order[0])]
    tip = tab.view.grid.cell_tip(len(lens.points) - 1, t)
    assert tip.count("%") >= 5  # the top 5 on hover


def test_clicking_a_column_plots_the_target_over_depth(window, qtbot) -> None:
    tab = lens_tab(window)
    grid, depth = tab.view.grid, tab.view.depth
    assert grid.column == len(grid.lens.ids) - 1  # the last position, scrolled into view
    tab.view.grid_area.horizontalScrollBar().setValue(0)
    qtbot.mouseClick(grid, Qt.MouseButton.LeftButton, pos=grid.cell_rect(1, 2).center())
    assert grid.column == 2 and tab.view.position_box.value() == 2
    lens = grid.lens
    np.testing.assert_allclose(depth.probs, lens.target_probs[:, 2].double().numpy())
    np.testing.assert_array_equal(depth.ranks, lens.target_ranks[:, 2].numpy() + 1)
    assert int(lens.targets[2]) == model_ids(window)[3]  # the next token
    curves = depth.export_parts().series
    np.testing.assert_allclose(curves["P(target)"][1], depth.probs)
    settle(window, tab)
    assert tab.last_job.dla.position == 2  # the attribution follows the column
    assert tab.last_job.dla.target == model_ids(window)[3]


def test_clicking_a_head_opens_its_attention_pattern(window, qtbot) -> None:
    tab = lens_tab(window)
    tab.view.views.setCurrentIndex(1)
    dla = tab.view.dla
    assert dla.attribution is not None
    assert dla.attribution.total == pytest.approx(dla.attribution.logit, abs=1e-4)
    assert [r[0] for r in dla.head_rows()] == ["L1", "L2", "L3"]
    qtbot.mouseClick(dla, Qt.MouseButton.LeftButton, pos=dla.cell_rect(1, 2).center())
    session = window.session
    assert session.step.name == "blocks.1.attn.pattern" and session.head == 2
    attention = window.panel("Attention")
    assert window.tabs.currentWidget() is attention.widget
    assert attention.view.current == ("blocks.1.attn", 1, 2)


def test_selecting_a_pca_point_highlights_it_in_the_grid(window, qtbot) -> None:
    tab = lens_tab(window)
    v = tab.view
    v.views.setCurrentIndex(2)
    v.pca_source.setCurrentIndex(v.pca_source.findData("text"))
    settle(window, tab)
    pca = v.pca
    assert pca.projection.what == "text embeddings"
    tokens = pca.tokens()
    assert sorted(tokens) == sorted(set(model_ids(window)))
    ratio = pca.projection.ratio
    assert f"{100 * float(ratio[0]):.1f} %" in pca.plot_item.getAxis("bottom").labelText
    # the grid's most common top-1 token: click its point in the scatter
    top = tab.view.grid.lens.top_ids[..., 0].reshape(-1)
    token = next(t for t in torch.bincount(top).argsort(descending=True).tolist()
                 if t in tokens)
    row = tokens.index(token)
    x, y = (float(c) for c in pca.projection.coords[row, :2])
    qtbot.wait(50)
    scene = pca.plot_item.vb.mapViewToScene(QPointF(x, y))
    qtbot.mouseMove(pca.viewport(), pos=pca.mapFromScene(scene))
    qtbot.waitUntil(lambda: pca.hovered_text != "", timeout=TIMEOUT)
    assert f"(id {token})" in pca.hovered_text
    qtbot.mouseClick(pca.viewport(), Qt.MouseButton.LeftButton,
                     pos=pca.mapFromScene(scene))
    assert pca.selected == row and pca.highlighted() == [row]
    cells = v.grid.highlighted_cells()
    assert cells and all(int(v.grid.lens.top_ids[r, c, 0]) == token for r, c in cells)
    assert len(cells) == int((top == token).sum())
    # and the other way: a column of the grid rings its token in the scatter
    v.views.setCurrentIndex(0)
    v.grid_area.horizontalScrollBar().setValue(0)
    qtbot.mouseClick(v.grid, Qt.MouseButton.LeftButton, pos=v.grid.cell_rect(0, 1).center())
    assert pca.highlighted() == [tokens.index(model_ids(window)[1])]


def test_a_bad_target_shows_a_message_not_a_traceback(window, qtbot) -> None:
    tab = lens_tab(window)
    v = tab.view
    v.target_edit.setText("zebra-crossing")
    settle(window, tab)
    assert "not a token of this model's vocabulary" in v.grid.message
    v.views.setCurrentIndex(1)  # an inner view shows the results when it comes to the front
    assert "not a token of this model's vocabulary" in v.dla.message
    v.views.setCurrentIndex(0)
    assert "zebra-crossing" in v.target_note.text()
    assert v.grid.lens is None
    v.target_edit.setText("k")  # a real token: followed at every position
    settle(window, tab)
    k = window.session.tokenizer.token_to_id("k")
    assert v.grid.lens is not None and set(v.grid.lens.targets.tolist()) == {k}
    assert tab.last_job.dla.target == k and v.target_note.text() == ""
    box = window.inputs.text
    box.selectAll()
    qtbot.keyClick(box, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: "empty" in v.grid.message, timeout=TIMEOUT)
    assert "empty" in v.dla.message and "empty" in v.pca.message
    qtbot.waitUntil(lambda: window.tokens_view.token_shading() == {}, timeout=TIMEOUT)


def test_a_classifier_says_it_has_no_token_output(window, qtbot) -> None:
    from explorer.core import ModelConfig, build_model
    from explorer.state import LoadedModel

    tab = lens_tab(window)
    tok = window.session.tokenizer
    cfg = ModelConfig(arch="encoder", vocab_size=tok.vocab_size, l_max=64, d_e=16,
                      n_heads=2, n_layers=1, n_classes=3)
    window.show_model(LoadedModel(build_model(cfg).eval(), tok, "a classifier", "random"))
    qtbot.waitUntil(lambda: "classifier" in tab.view.grid.message, timeout=TIMEOUT)
    tab.view.views.setCurrentIndex(1)
    assert "classifier" in tab.view.dla.message


def test_two_results_compare_in_one_grid() -> None:
    from explorer.state import default_model
    from explorer.state.step_data import vocabulary_labels

    loaded = default_model("decoder")
    model, tok = loaded.model, loaded.tokenizer
    a = tok.encode("the king sings .").ids
    b = tok.encode("the kind singer").ids
    lens_a, lens_b = logit_lens(model, a), logit_lens(model, b)
    view = LensView()
    vocab = vocabulary_labels(tok, model.cfg.vocab_size)
    labels_a, labels_b = [vocab[i] for i in a], [vocab[i] for i in b]
    view.show_comparison(lens_a, lens_b, labels_a, labels_b, vocab)
    grid = view.grid
    assert grid.comparison is not None and not view.mode_box.isHidden()
    n = min(len(a), len(b))
    assert view.compare_note.text() == (f"A has {len(a)} positions and B {len(b)}: compared "
                                        f"on the first {n}")
    view.mode_box.setCurrentText("A − B")
    assert grid.mode == "A − B"
    rows = len(lens_a.points)
    diff = lens_a.top_probs[:, :n, 0] - lens_b.top_probs[:, :n, 0]
    values = np.array([[grid.cell_value(r, c) for c in range(n)] for r in range(rows)])
    np.testing.assert_allclose(values, diff.numpy(), atol=1e-7)
    assert grid.export_parts().table.values.shape == (rows, n)
    first_diff = next(c for c in range(n) if a[c] != b[c])
    assert "|" in grid._column_labels()[first_diff]  # A's and B's tokens where they differ
    view.mode_box.setCurrentText("B")
    assert grid.cell_value(0, len(b) - 1) == pytest.approx(float(lens_b.top_probs[0, -1, 0]))
    view.show_comparison(lens_a, lens_a, labels_a, labels_a, vocab)  # A with itself
    view.mode_box.setCurrentText("A − B")
    assert grid.comparison.diff.abs().max() == 0
    assert view.compare_note.text() == "A and B have the same length"
    view.set_compare(None, ())
    assert grid.comparison is None and view.mode_box.isHidden() and grid.mode == "A"


def test_compare_with_a_second_text_in_the_window(window) -> None:
    tab = lens_tab(window)
    tab.compare_with("the kind singer")
    settle(window, tab)
    grid = tab.view.grid
    b = window.session.tokenizer.encode("the kind singer").ids
    assert tab.last_job.lens_b.ids.tolist() == list(b)
    assert grid.comparison is not None
    assert grid.comparison.diff.shape[1] == min(len(b), len(model_ids(window)))
    tab.compare_with(None)
    settle(window, tab)
    assert grid.comparison is None


def test_every_view_exports_its_numbers(window) -> None:
    tab = lens_tab(window)
    v = tab.view
    lens = v.grid.lens
    parts = v.export_parts()
    assert parts.table.values.shape == (len(lens.points), len(lens.ids))
    np.testing.assert_allclose(parts.table.values, lens.top_probs[..., 0].numpy())
    v.views.setCurrentIndex(1)
    heads = v.export_parts().table.values
    assert heads.shape == (3, 4)
    np.testing.assert_allclose(heads, v.dla.attribution.grid("head").numpy())
    v.views.setCurrentIndex(2)
    pca = v.export_parts()
    np.testing.assert_allclose(pca.table.values, v.pca.projection.coords.double().numpy())


@pytest.mark.parametrize("arch", ["encoder", "encoder-decoder"])
def test_the_other_architectures(open_window, qtbot, arch) -> None:
    window = open_window(arch=arch, text="the king sings .")
    window.app_qtbot = qtbot
    tab = lens_tab(window)
    job = tab.last_job
    lens = tab.view.grid.lens
    assert lens is not None and lens.ids.tolist() == model_ids(window)
    probs = torch.softmax(window.session.logits[0].double(), dim=-1)
    torch.testing.assert_close(lens.top_probs[-1].double(),
                               probs.gather(1, lens.top_ids[-1]), rtol=1e-6, atol=1e-7)
    assert job.loss is not None and window.tokens_view.token_shading()
    if arch == "encoder":
        assert job.loss.objective == "masked"
        assert "MLM head" in job.errors["dla"]  # said in the view, not raised
        tab.view.views.setCurrentIndex(1)
        assert "not linear" in tab.view.dla.message
    else:
        assert job.loss.objective == "seq2seq" and job.dla is not None
        dla = tab.view.dla
        tab.view.views.setCurrentIndex(1)
        rows = [r[0] for r in dla.head_rows()]
        assert rows[:2] == ["L1", "L1 cross"]
        qtbot.mouseClick(dla, Qt.MouseButton.LeftButton, pos=dla.cell_rect(1, 0).center())
        assert window.session.step.name == "decoder.blocks.0.cross_attn.pattern"
        assert window.tabs.currentWidget() is window.panel("Attention").widget


def test_the_sessions_text_b_compares_in_the_grid(window) -> None:
    """``refresh_compare`` (the window calls it when the session's text B changes) takes
    B's recorded trace; B cleared ends the comparison."""
    from types import SimpleNamespace

    from explorer.trace import record

    tab = lens_tab(window)
    session = window.session
    b_ids = window.session.tokenizer.encode("the kind singer").ids
    _, trace_b = record(session.model, torch.tensor([b_ids]))
    labels_b = tuple(session.tokenizer.token_strings(b_ids))
    real = session.compare
    session.compare = SimpleNamespace(active=True, ready=True, trace=trace_b,
                                      labels=labels_b)
    try:
        tab.refresh_compare(session)
        settle(window, tab)
        assert tab.last_job.lens_b.ids.tolist() == list(b_ids)
        grid = tab.view.grid
        assert grid.comparison is not None and not tab.view.mode_box.isHidden()
        expected = logit_lens(session.model, b_ids)
        assert torch.equal(tab.last_job.lens_b.top_ids, expected.top_ids)
        session.compare = SimpleNamespace(active=False, ready=False, trace=None, labels=())
        tab.refresh_compare(session)
        settle(window, tab)
        assert grid.comparison is None and tab.view.mode_box.isHidden()
    finally:
        session.compare = real  # the real one back (a hidden tab catching up reads it)
