"""Interventions in the real window: from the head grid and the pattern to the dock, the
output's clean-vs-intervened bars, removal back to the clean run, and the sweeps."""

from __future__ import annotations

import numpy as np
import torch
from PySide6.QtCore import QPoint, Qt

from tests.ui.conftest import WINDOW_TIMEOUT, up_to_date

TEXT = "the king sings ."


def _intervened(window) -> bool:
    trace = window.session.trace
    return trace is not None and bool(trace.interventions)


def test_ablate_a_head_from_the_grid_then_remove_it(open_window, qtbot):
    window = open_window(text=TEXT)
    s = window.session
    clean_logits = s.logits.clone()
    tab = window.panel("Attention")
    dock = window.panel("Interventions")
    output = window.panel("Output").view
    window.tabs.setCurrentWidget(tab.widget)
    grid = tab.view.grid
    center = grid.thumbnail_rect("blocks.1.attn", 2).center().toPoint()
    qtbot.mouseClick(grid, Qt.MouseButton.RightButton, pos=center)
    assert tab.menu is not None
    texts = [a.text() for a in tab.menu.actions()]
    assert texts[0].startswith("Zero-ablate") and "head 3" in texts[0]
    assert not tab.menu.actions()[3].isEnabled()  # patch from B: no text B yet
    tab.menu.actions()[0].trigger()
    tab.menu.close()
    qtbot.waitUntil(lambda: _intervened(window), timeout=WINDOW_TIMEOUT)
    assert [type(iv).__name__ for iv in s.interventions] == ["AblateHead"]
    assert dock.view.list.count() == 1
    assert dock.view.list.item(0).text() == "Layer 2 · head 3: zero-ablated"
    assert "Effect at the last position" in dock.view.effect_label.text()
    assert ("blocks.1.attn", 2) in grid.marks
    head_out = s.trace["blocks.1.attn.head_out"][0]
    assert float(head_out[2].abs().max()) == 0.0 and float(head_out[1].abs().max()) > 0
    up_to_date(window)
    assert output.bars.second is not None and output.bars.names == ("intervened", "clean")
    assert "KL(" in output.kl_label.text()
    assert torch.equal(s.clean_logits, clean_logits)
    # the master switch: off shows the clean run, the list is kept
    dock.view.enabled_box.setChecked(False)
    qtbot.waitUntil(lambda: not _intervened(window), timeout=WINDOW_TIMEOUT)
    assert torch.equal(s.logits, clean_logits) and len(s.interventions) == 1
    up_to_date(window)
    assert output.bars.second is None and not grid.marks
    dock.view.enabled_box.setChecked(True)
    qtbot.waitUntil(lambda: _intervened(window), timeout=WINDOW_TIMEOUT)
    # remove it: every view back to the clean values
    dock.view.list.setCurrentRow(0)
    dock.view.remove_button.click()
    qtbot.waitUntil(lambda: not _intervened(window), timeout=WINDOW_TIMEOUT)
    assert not s.interventions and dock.view.list.count() == 0
    assert torch.equal(s.logits, clean_logits)
    up_to_date(window)
    assert output.bars.second is None and not grid.marks
    assert dock.view.effect_label.text() == ""


def test_x_ablates_the_selected_head_and_a_cell_edit_makes_a_column_one_hot(open_window,
                                                                             qtbot):
    window = open_window(text=TEXT)
    s = window.session
    tab = window.panel("Attention")
    window.tabs.setCurrentWidget(tab.widget)
    grid = tab.view.grid
    grid.set_selected("blocks.0.attn", 1)
    grid.setFocus()
    qtbot.keyClick(grid, Qt.Key.Key_X)
    qtbot.waitUntil(lambda: _intervened(window), timeout=WINDOW_TIMEOUT)
    assert s.interventions[0].layer == 0 and s.interventions[0].head == 1
    tab.view.select("blocks.1.attn", 1, 0)
    tab._on_cell_menu("blocks.1.attn", 1, 0, 2, 5, 0.1, QPoint(0, 0))  # A[key 2, query 5]
    one_hot = [a for a in tab.menu.actions() if "attends only" in a.text()][0]
    one_hot.trigger()
    tab.menu.close()
    qtbot.waitUntil(lambda: len(s.trace.interventions) == 2, timeout=WINDOW_TIMEOUT)
    pattern = s.trace["blocks.1.attn.pattern"][0, 0]  # (l_x, l_z): row = query
    assert float(pattern[5, 2]) == 1.0 and float(pattern[5].sum()) == 1.0
    lines = [window.panel("Interventions").view.list.item(i).text() for i in range(2)]
    assert lines[1].startswith("Layer 2 · head 1: query t = 6") and "key t = 3" in lines[1]


def test_head_importance_and_patching_sweeps_open_what_is_clicked(open_window, qtbot,
                                                                   monkeypatch):
    window = open_window(text=TEXT)
    s = window.session
    dock = window.panel("Interventions")
    v = dock.view
    assert dock.run_importance()
    qtbot.waitUntil(lambda: not dock.running(), timeout=WINDOW_TIMEOUT)
    layers, heads = int(s.cfg.n_layers), int(s.cfg.n_heads)
    assert v.heatmap.values.shape == (layers, heads)
    assert np.isfinite(v.heatmap.values).all()
    qtbot.mouseClick(v.heatmap.graphics.viewport(), Qt.MouseButton.LeftButton,
                     pos=v.heatmap.graphics.mapFrom(v.heatmap, v.heatmap.cell_center(1, 2)
                                                    .toPoint()))
    qtbot.waitUntil(lambda: window.tabs.currentWidget() is window.panel("Attention").widget,
                    timeout=WINDOW_TIMEOUT)
    assert s.step.name == "blocks.1.attn.pattern" and s.head == 2

    # patching needs a text B of the same length
    assert not dock.run_patching() and "Ctrl+B" in v.sweep_note.text()
    window.menus.compare_action.trigger()
    qtbot.keyClicks(window.inputs.compare, "the king sing .")
    qtbot.waitUntil(lambda: s.compare.ready, timeout=WINDOW_TIMEOUT)
    v.target_edit.setText("s")
    v.other_edit.setText("x")
    assert not dock.run_patching() and "same length" in v.sweep_note.text()
    window.inputs.compare.clear()
    qtbot.keyClicks(window.inputs.compare, "the kong sings .")
    qtbot.waitUntil(lambda: s.compare.ready and s.compare.text == "the kong sings .",
                    timeout=WINDOW_TIMEOUT)
    assert dock.run_patching()
    qtbot.waitUntil(lambda: not dock.running(), timeout=WINDOW_TIMEOUT)
    assert [v.site_box.itemData(i) for i in range(v.site_box.count())] == [
        "resid", "attn_out", "mlp_out", "head_out"]
    n = len(s.x_labels)
    assert v.heatmap.values.shape == (layers, n)  # residual stream: layers × positions
    assert "noise" not in v.sweep_note.text()
    # a logit-difference gap small against the logits' spread: the view warns
    import explorer.analysis.patching as patching

    monkeypatch.setattr(patching, "WEAK_FRACTION", 1e9)
    v.site_box.setCurrentIndex(3)
    assert v.sweep_note.text().startswith("Warning: the clean and corrupted logit")
    assert v.heatmap.values.shape == (layers, heads)
    dock._on_cell_clicked(0, 3)
    assert s.step.name == "blocks.0.attn.pattern" and s.head == 3
    v.site_box.setCurrentIndex(2)
    dock._on_cell_clicked(1, 4)
    assert s.step.name == "blocks.1.mlp.out"
    assert window.tabs.currentIndex() == 0


def test_a_cancelled_sweep_says_so_and_a_new_one_runs(open_window, qtbot):
    window = open_window(text=TEXT)
    dock = window.panel("Interventions")
    assert dock.run_importance()
    dock.cancel()
    assert not dock.running() and dock.view.cancel_button.isEnabled() is False
    qtbot.waitUntil(lambda: dock.view.sweep_note.text() in ("Cancelled.", "Click a head to "
                                                            "open its pattern."),
                    timeout=WINDOW_TIMEOUT)
    assert dock.run_importance()
    qtbot.waitUntil(lambda: not dock.running(), timeout=WINDOW_TIMEOUT)
    qtbot.waitUntil(lambda: dock.sweep is not None, timeout=WINDOW_TIMEOUT)


def test_a_right_click_on_a_layer_in_the_overview_ablates_its_mlp(open_window, qtbot):
    window = open_window(text=TEXT)
    s = window.session
    overview = window.overview
    box = next(b for b in overview.boxes
               if s.steps[b.steps[0]].block == "mlp" and s.steps[b.steps[0]].layer == 1)
    qtbot.mouseClick(overview, Qt.MouseButton.RightButton, pos=box.rect.center().toPoint())
    texts = [a.text() for a in window.step_view.overview_menu.actions()]
    assert texts == ["Zero-ablate the MLP of layer 2", "Mean-ablate the MLP of layer 2"]
    window.step_view.overview_menu.actions()[0].trigger()
    window.step_view.overview_menu.close()
    qtbot.waitUntil(lambda: _intervened(window), timeout=WINDOW_TIMEOUT)
    assert float(s.trace["blocks.1.mlp.out"].abs().max()) == 0.0
    assert float(s.trace["blocks.0.mlp.out"].abs().max()) > 0.0
    embed = next(b for b in overview.boxes if s.steps[b.steps[0]].layer is None)
    assert window.step_view.layer_choices(embed.steps[0]) == []
