"""Scenes and panels talk through a declaration: each tab lists the scene views it shows
(``Panel.scene_views``); a scene is checked when it is opened, and each declared view is
shown by the tab that declares it."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from explorer.state.scene import VIEWS, Scene, save_scene  # noqa: E402
from explorer.ui.output.panel import OutputTab  # noqa: E402
from explorer.ui.widgets.scroll import unwrap  # noqa: E402
from explorer.ui.window.compose import default_panels  # noqa: E402
from explorer.ui.window.main_window import MainWindow  # noqa: E402
from explorer.ui.window.render_views import RENDER_VIEWS  # noqa: E402


def _window(qtbot, panel_factory=None) -> MainWindow:
    w = MainWindow(text="the king sings .", panel_factory=panel_factory)
    qtbot.addWidget(w)
    w.show()
    with qtbot.waitSignal(w.views_updated, timeout=30000):
        w.start()
    qtbot.waitUntil(lambda: bool(w.panels), timeout=30000)
    return w


def test_every_scene_view_is_declared_by_a_tab_and_drawn_by_render_or_the_window(qtbot):
    panels = default_panels()
    try:
        declared = {"step"} | {v for p in panels for v in p.scene_views}
    finally:
        for p in panels:
            p.shutdown()
    assert declared == set(VIEWS)
    assert set(RENDER_VIEWS) == set(VIEWS)
    from explorer.commands import render

    assert render.VIEWS == RENDER_VIEWS


def test_each_declared_view_opens_in_the_tab_that_declares_it(qtbot, tmp_path):
    w = _window(qtbot)
    errors: list[str] = []
    w.error_shown.connect(errors.append)
    try:
        for view in VIEWS:
            path = tmp_path / f"{view}.json"
            save_scene(Scene(arch="decoder", text="the king sings .", layer=1, head=1,
                             view=view), path)
            w.tabs.setCurrentIndex(0 if view != "step" else 1)  # start elsewhere
            assert w.scenes.open_scene_file(str(path)), errors
            qtbot.waitUntil(lambda: w.scenes._pending is None, timeout=10000)
            assert errors == [], (view, errors)
            if view == "step":
                assert w.tabs.currentIndex() == 0
                continue
            panel = w.scenes.panel_for(view)
            assert view in panel.scene_views
            assert w.tabs.currentWidget() is panel.widget, view
            assert w.scenes.current_scene().view == panel.scene_fields()["view"]
            if view in ("attention", "heads", "lines"):
                shown = unwrap(panel.widget)
                assert shown.current == ("blocks.1.attn", 1, 1)
                assert (w.session.step.name, w.session.head) == ("blocks.1.attn.pattern", 1)
                pane = shown.lines if view == "lines" else shown.grid
                assert pane.isVisible() and pane.width() > 0
    finally:
        w.shutdown()


def test_an_unknown_or_unavailable_view_is_a_message(qtbot, tmp_path):
    w = _window(qtbot, lambda: [OutputTab()])  # a window with no Attention tab
    errors: list[str] = []
    w.error_shown.connect(errors.append)
    try:
        before = (w.session.text, w.tabs.currentIndex())
        unknown = tmp_path / "unknown.json"
        unknown.write_text('{"version": 2, "arch": "decoder", "text": "a b", '
                           '"view": "sideways"}', encoding="utf-8")
        assert not w.scenes.open_scene_file(str(unknown))
        assert "view 'sideways' is not one of" in errors[-1]
        assert "sideways" in w.statusBar().currentMessage()
        lines = tmp_path / "lines.json"
        save_scene(Scene(arch="decoder", text="a b", view="lines"), lines)
        assert not w.scenes.open_scene_file(str(lines))
        assert "view 'lines' is not available in this window" in errors[-1]
        assert "step, output" in errors[-1]
        assert (w.session.text, w.tabs.currentIndex()) == before  # nothing changed
        output = tmp_path / "output.json"
        save_scene(Scene(arch="decoder", text="a b", view="output"), output)
        assert w.scenes.open_scene_file(str(output))
        qtbot.waitUntil(lambda: w.session.text == "a b" and w.scenes._pending is None,
                        timeout=10000)
        assert unwrap(w.tabs.currentWidget()).__class__.__name__ == "OutputDistributionWidget"
    finally:
        w.shutdown()


@pytest.mark.parametrize("head", [5])
def test_a_head_the_model_lacks_is_a_message_not_a_crash(qtbot, tmp_path, head):
    w = _window(qtbot)
    errors: list[str] = []
    w.error_shown.connect(errors.append)
    try:
        path = tmp_path / "heads.json"
        save_scene(Scene(arch="decoder", text="the king", view="heads", head=head), path)
        assert w.scenes.open_scene_file(str(path))
        qtbot.waitUntil(lambda: bool(errors), timeout=10000)
        assert f"head {head + 1} does not exist" in errors[-1]
    finally:
        w.shutdown()
