"""The Side by side tab (issue 30 §1): three columns, the window's Step view in each,
stepping together by the paper's line with the window's own keys; scenes."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication

from explorer.state.architectures import ROWS, row_index
from explorer.ui.inspect.heatmap_view import HeatmapWidget


def open_side_by_side(qtbot, open_window):
    window = open_window(text="the wise girl follows the sad witch .")
    view_action = next(a for a in window.menus.view_menu.actions() if a.text() == "Side by side")
    view_action.trigger()
    panel = window.panel("Side by side")
    qtbot.waitUntil(lambda: len(panel.view.columns) == 3, timeout=30_000)
    return window, panel


def test_columns_are_the_step_view_and_step_together(qtbot, open_window):
    window, panel = open_side_by_side(qtbot, open_window)
    columns = panel.view.columns
    assert all(isinstance(c.view, HeatmapWidget) for c in columns)
    assert [c.title.text() for c in columns] == [
        "Decoder-only · Alg 10", "Encoder-only · Alg 9", "Encoder–decoder · Alg 8"]
    start = panel.sync.row
    assert ROWS[start].key == "self_attn"
    window.activateWindow()
    window.focus_steps()
    main_step = window.session.step_index
    # → (the window's own key) steps the columns, not the session, past the post-norm
    # row no bundled (pre-norm) model has
    qtbot.keyClick(QApplication.focusWidget() or window, Qt.Key.Key_Right)
    assert panel.sync.row == start + 2 == row_index("cross_attn")
    assert window.session.step_index == main_step
    texts = [c.line.text() for c in columns]
    assert texts[:2] == ["Algorithm 10: no such line", "Algorithm 9: no such line"]
    assert "cross-attention" in columns[0].none.text()
    assert columns[0].stack.currentWidget() is columns[0].none
    assert columns[2].stack.currentWidget() is columns[2].view
    assert texts[2].startswith("16")
    data = columns[2].view.data
    assert data.step.name.endswith("cross_attn.pattern")
    # The window's text goes to every column.
    window.set_input_text("the sad witch sings .")
    qtbot.waitUntil(lambda: panel.sync.text == "the sad witch sings .", timeout=30_000)
    window.close()


def test_side_by_side_at_1280x720_and_its_scene(qtbot, open_window):
    window, panel = open_side_by_side(qtbot, open_window)
    window.resize(1280, 720)
    qtbot.waitUntil(lambda: window.compact.compact, timeout=5000)  # the small-screen layout
    qtbot.wait(200)
    for column in panel.view.columns:
        assert column.height() >= 0.55 * window.height()
        assert column.width() >= 180
    panel.sync.set_half("encoder")
    panel.sync.set_row("mlp")
    scene = window.scenes.current_scene()
    assert scene.view == "architectures"
    assert scene.view_options["line"] == "mlp" and scene.view_options["half"] == "encoder"
    panel.sync.set_half("decoder")
    panel.sync.set_row("ids")
    window.show_tab("Step")
    assert window.scenes.apply_scene(scene)
    qtbot.waitUntil(lambda: panel.sync.current.key == "mlp", timeout=30_000)
    assert panel.sync.half == "encoder"
    assert window.tabs.currentWidget() is panel.widget
    window.close()


def test_the_masks_page_explains_the_cell_under_the_mouse(qtbot, open_window):
    window, panel = open_side_by_side(qtbot, open_window)
    view = panel.view
    view.shown["masks"].setChecked(True)
    qtbot.waitUntil(view.masks.isVisible, timeout=5000)
    assert not view.columns_page.isVisible()
    bi, uni, cross = view.masks.masks
    assert uni.allowed.shape[1] == len(panel.sync.columns[0].session.x_labels)
    plot = view.masks.plots[1]
    centre = plot.getPlotItem().getViewBox().mapViewToScene(QPointF(0.5, 2.5))  # t_x 1, t_z 3
    plot.scene().sigMouseMoved.emit(centre)
    assert "t_z > t_x" in view.masks.hover.text()
    view.shown["diff"].setChecked(True)
    assert view.diff.isVisible() and ("cross_attn", 2) in view.diff.cells
    window.close()
