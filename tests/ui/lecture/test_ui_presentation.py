"""Presentation mode on the real window: fonts scale and come back; scenes and export."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtGui import QImage  # noqa: E402
from PySide6.QtWidgets import QApplication, QDockWidget, QWidget  # noqa: E402

from explorer.state.scene import Scene, load_scene, save_scene  # noqa: E402
from explorer.ui.window.main_window import MainWindow  # noqa: E402


@pytest.fixture
def window(qtbot):
    w = MainWindow(text="the king sings .")
    qtbot.addWidget(w)
    w.show()
    with qtbot.waitSignal(w.views_updated, timeout=30000):
        w.start()
    yield w
    w.presentation.leave()
    w.presentation.set_zoom(1.0)
    w.shutdown()


def test_presentation_scales_fonts_and_restores_them(window, qtbot):
    app = QApplication.instance()
    base = app.font().pointSizeF()
    title = window.heatmap.title.font().pointSizeF()
    axis = window.heatmap.plot_item.getAxis("bottom")
    tick = axis.style["tickFont"].pointSizeF()
    bar_axis = window.heatmap.colorbar.axis
    bar_width = bar_axis.fixedWidth
    docks = [d for d in window.findChildren(QDockWidget) if d.isVisible()]
    assert docks
    every = {w: w.font().pointSizeF() for w in window.findChildren(QWidget)}
    window.presentation.toggle_action.trigger()
    p = window.presentation
    # the colour bar's fixed-width axis widens with its labels, or they would be dropped
    assert bar_axis.fixedWidth == pytest.approx(bar_width * p.zoom_factor)
    assert p.presenting and window.isFullScreen()
    assert app.font().pointSizeF() == pytest.approx(base * p.zoom_factor)
    assert window.heatmap.title.font().pointSizeF() == pytest.approx(title * p.zoom_factor)
    assert axis.style["tickFont"].pointSizeF() == pytest.approx(tick * p.zoom_factor)
    assert not any(d.isVisible() for d in docks)
    assert p.overlay.isVisible() and "Step 1 /" in p.overlay.text()
    zoom = p.zoom_factor
    p.zoom_in()
    assert p.zoom_factor > zoom
    assert app.font().pointSizeF() == pytest.approx(base * p.zoom_factor)
    # stepping keys still work: the window's own actions
    window.toolbars.step_actions["next"].trigger()
    assert window.session.step_index == 1
    assert "Step 2 /" in p.overlay.text()
    p.set_theme("dark")
    assert app.palette().color(app.palette().ColorRole.Window).lightness() < 50
    p.leave()
    assert not p.presenting and not window.isFullScreen()
    assert bar_axis.fixedWidth == pytest.approx(bar_width * p.zoom_factor)
    p.set_zoom(1.0)
    assert bar_axis.fixedWidth == bar_width
    assert app.font().pointSizeF() == pytest.approx(base)
    assert window.heatmap.title.font().pointSizeF() == pytest.approx(title)
    assert axis.style["tickFont"].pointSizeF() == pytest.approx(tick)
    assert all(d.isVisible() for d in docks)
    assert app.palette().color(app.palette().ColorRole.Window).lightness() > 150
    changed = [w for w, size in every.items() if w.font().pointSizeF() != size
               and w is not p.overlay]  # the overlay is presentation mode's own
    assert changed == []  # every font back, the Train tab's own (set on it) and its children


def test_ctrl_zoom_outside_presentation(window):
    app = QApplication.instance()
    base = app.font().pointSizeF()
    window.presentation.zoom_in_action.trigger()
    assert app.font().pointSizeF() > base
    window.presentation.zoom_reset_action.trigger()
    assert app.font().pointSizeF() == pytest.approx(base)


def test_scene_save_and_reopen_same_view(window, qtbot, tmp_path):
    s = window.session
    s.select_name("blocks.1.attn.pattern")
    s.select_head(2)
    path = tmp_path / "scene.json"
    assert window.scenes.save_scene_to(str(path))
    saved = load_scene(path)
    assert (saved.step, saved.head, saved.text) == ("blocks.1.attn.pattern", 2, s.text)
    s.select_name("embed.token")
    s.select_head(0)
    other = tmp_path / "other.json"
    save_scene(Scene(arch="decoder", text="a dog runs", step="blocks.0.mlp.hidden"), other)
    with qtbot.waitSignal(window.views_updated, timeout=10000):
        assert window.scenes.open_scene_file(str(other))
    qtbot.waitUntil(lambda: window.session.step.name == "blocks.0.mlp.hidden", timeout=10000)
    assert window.session.text == "a dog runs"
    assert window.inputs.text.toPlainText() == "a dog runs"
    window.scenes.open_scene_file(str(path))
    qtbot.waitUntil(lambda: window.session.step.name == "blocks.1.attn.pattern", timeout=10000)
    assert window.session.head == 2 and window.session.text == saved.text


def test_missing_model_folder_says_so(window, tmp_path):
    path = tmp_path / "gone.json"
    save_scene(Scene(arch="decoder", text="x", model=str(tmp_path / "moved")), path)
    asked = []
    window.scenes.ask_folder = lambda message: asked.append(message) or ""
    shown = []
    window.error_shown.connect(shown.append)
    assert not window.scenes.open_scene_file(str(path))
    assert "does not exist" in asked[0] and "does not exist" in shown[-1]


def test_export_current_view(window, tmp_path):
    window.session.select_name("blocks.0.attn.pattern")
    assert window.scenes.export_view_to(str(tmp_path / "v.png"), scale=2.0)
    image = QImage(str(tmp_path / "v.png"))
    assert image.width() == 2 * window.heatmap.width()
    assert window.scenes.export_view_to(str(tmp_path / "v.npy"))
    assert np.array_equal(np.load(tmp_path / "v.npy"), window.heatmap.data.raw)
    assert window.scenes.export_view_to(str(tmp_path / "v.svg"))
    window.scenes.copy_view()
    assert not QApplication.clipboard().image().isNull()


def test_a_scene_with_interventions_replays_them_in_the_window(window, qtbot, tmp_path):
    from explorer.analysis import AblateHead, interventions_to_list

    s = window.session
    clean = s.logits.clone()
    ablate = [AblateHead(1, h) for h in range(s.cfg.n_heads)]
    path = tmp_path / "ablated.json"
    save_scene(Scene(arch="decoder", text=s.text, step="blocks.1.attn.head_out",
                     interventions=interventions_to_list(ablate)), path)
    with qtbot.waitSignal(s.trace_changed, timeout=10000):
        assert window.scenes.open_scene_file(str(path))  # the same text: only the run changes
    qtbot.waitUntil(lambda: s.step.name == "blocks.1.attn.head_out", timeout=10000)
    assert s.trace.interventions == tuple(ablate)
    assert not s.trace["blocks.1.attn.head_out"].any()  # every head's Y^h is 0
    assert s.effect() is not None and (s.clean_logits == clean).all()
    with qtbot.waitSignal(s.trace_changed, timeout=10000):
        s.set_interventions_enabled(False)  # the window records the clean run again
    assert s.trace.interventions == () and (s.logits == clean).all()


def test_leaving_presentation_keeps_the_paper_panel_in_front_of_its_tabbed_neighbour(window,
                                                                                    qtbot):
    interventions = window.hosting.panel_docks["Interventions"]
    assert interventions in window.tabifiedDockWidgets(window.paper_dock)
    window.paper_dock.raise_()  # (a layout saved by an earlier test may show the other)
    qtbot.wait(20)
    assert not window.paper_dock.visibleRegion().isEmpty()
    assert interventions.visibleRegion().isEmpty()
    window.presentation.enter()
    qtbot.wait(50)
    window.presentation.leave()
    qtbot.wait(50)
    assert not window.paper_dock.visibleRegion().isEmpty()  # Paper still in front
    assert interventions.visibleRegion().isEmpty()
