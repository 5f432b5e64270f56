"""render: offscreen pictures of the window's views, equal to exporting the same view."""

from __future__ import annotations

import argparse
import os
import xml.etree.ElementTree as ET

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtGui import QImage  # noqa: E402

from explorer.commands import render  # noqa: E402
from explorer.state import Session, default_model  # noqa: E402
from explorer.state.scene import Scene, save_scene  # noqa: E402


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    render.add_arguments(parser)
    return parser.parse_args(list(argv))


def _same_pixels(a: QImage, b: QImage) -> bool:
    a = a.convertToFormat(QImage.Format.Format_ARGB32)
    b = b.convertToFormat(QImage.Format.Format_ARGB32)
    return a.size() == b.size() and a == b


def test_render_matches_the_export_of_the_window_view(qtbot, tmp_path):
    from explorer.state.step_data import heatmap_data
    from explorer.ui.inspect.heatmap_view import HeatmapWidget
    from explorer.ui.lecture.export import export_png
    from explorer.ui.lecture.view_parts import view_parts

    out = tmp_path / "r.png"
    code = render.run(_args("-o", str(out), "--step", "blocks.0.attn.pattern", "--head", "2",
                            "--scale", "2", "--size", "700x500"))
    assert code == 0
    rendered = QImage(str(out))
    assert rendered.width() == 1400 and rendered.height() > 1000
    # the window's way: a HeatmapWidget showing heatmap_data(session), then File ▸ Export
    session = Session(default_model("decoder"))
    session.record_now()
    session.select_name("blocks.0.attn.pattern")
    session.select_head(1)
    view = HeatmapWidget()
    qtbot.addWidget(view)
    view.show_data(heatmap_data(session))
    view.resize(700, 500)
    view.show()
    qtbot.waitExposed(view)
    parts = view_parts(view)
    exported = export_png(parts.target, tmp_path / "e.png", 2.0, parts.caption)
    assert _same_pixels(rendered, exported)


@pytest.mark.parametrize("view", ["attention", "heads", "output"])
def test_every_view_kind_renders(qtbot, tmp_path, view):
    out = tmp_path / f"{view}.png"
    assert render.run(_args("-o", str(out), "--view", view, "--layer", "2", "--head", "1",
                            "--size", "500x400")) == 0
    image = QImage(str(out))
    assert image.width() == 500 and image.height() >= 400


def test_svg_and_scene(qtbot, tmp_path):
    scene = Scene(arch="encoder", text="a cat", step="blocks.0.attn.pattern", head=1)
    save_scene(scene, tmp_path / "s.json")
    out = tmp_path / "s.svg"
    assert render.run(_args("--scene", str(tmp_path / "s.json"), "-o", str(out),
                            "--size", "400x300")) == 0
    assert ET.parse(out).getroot().tag.endswith("svg")
    assert "head 2" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize(("argv", "fragment"), [
    (["--step", "nope"], "no step 'nope'"),
    (["--view", "attention", "--head", "9"], "head 9 does not exist"),
    (["--view", "attention", "--layer", "7"], "no attention in layer 7"),
    (["--model", "/no/such/folder"], "no such folder"),
    (["--size", "big"], "WIDTHxHEIGHT"),
])
def test_bad_input_exits_nonzero_with_a_message(qtbot, tmp_path, capsys, argv, fragment):
    assert render.run(_args("-o", str(tmp_path / "x.png"), *argv)) == 2
    assert fragment in capsys.readouterr().err


def test_bad_extension(qtbot, tmp_path, capsys):
    assert render.run(_args("-o", str(tmp_path / "x.txt"))) == 2
    assert "cannot tell the format" in capsys.readouterr().err


def _declared_views() -> list[str]:
    """Every scene view a tab of the window declares, and the Step tab's."""
    from PySide6.QtWidgets import QApplication

    from explorer.ui.window.compose import default_panels

    QApplication.instance() or QApplication([])
    panels = default_panels()
    try:
        views = ["step"] + [v for p in panels for v in p.scene_views]
    finally:
        for p in panels:
            p.shutdown()
    return views


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A tiny training run with weight snapshots (for the train and timelapse views)."""
    from explorer.cli import main

    out = tmp_path_factory.mktemp("run") / "tiny"
    assert main(["train", "--preset", "tiny", "--data", "grammar", "--steps", "4",
                 "--snapshot-every", "2", "--device", "cpu", "--out", str(out),
                 "--quiet"]) == 0
    return out


def test_every_declared_view_renders_from_a_scene(qtbot, tmp_path, capsys, run_dir):
    from explorer.ui.window.render_views import RENDER_VIEWS, RUN_VIEWS

    views = _declared_views()
    assert sorted(views) == sorted(RENDER_VIEWS)
    for view in views:
        path = tmp_path / f"{view}.json"
        options = {"run": str(run_dir), "layer": 0, "head": 1} if view in RUN_VIEWS else {}
        if view == "circuit":  # a clean text A against a corrupted B, and the tokens
            options = {"target": "s", "other": "x", "edges": 20}
        save_scene(Scene(arch="decoder", text="the king sings .", step="blocks.1.attn.pattern",
                         layer=1, head=1, view=view, view_options=options,
                         compare="the kong sings ." if view == "circuit" else ""), path)
        for ext in ("png", "svg"):
            out = tmp_path / f"{view}.{ext}"
            code = render.run(_args("--scene", str(path), "-o", str(out), "--size", "400x300"))
            assert code == 0, (view, capsys.readouterr().err)
            if ext == "png":
                assert QImage(str(out)).width() == 400
            else:
                assert ET.parse(out).getroot().tag.endswith("svg")


@pytest.mark.parametrize("view", ["train", "timelapse"])
def test_a_run_view_without_a_run_says_what_it_needs(qtbot, tmp_path, capsys, view):
    path = tmp_path / "s.json"
    save_scene(Scene(arch="decoder", text="abc", view=view,
                     view_options={"train": {"preset": "induction"}}), path)
    assert render.run(_args("--scene", str(path), "-o", str(tmp_path / "x.png"))) == 2
    assert f"the view {view!r} shows a training run" in capsys.readouterr().err


def test_lines_and_attention_draw_the_scenes_head(qtbot):
    from explorer.commands.render import build_scene_view

    scene = Scene(arch="decoder", text="the king sings .", layer=1, head=1, view="lines")
    lines = build_scene_view(scene)
    qtbot.addWidget(lines)
    assert "layer 2" in lines.title_label.text().lower()  # every head of the scene's layer
    pattern = build_scene_view(Scene(arch="decoder", text="the king sings .", layer=1,
                                     head=1, view="attention"))
    qtbot.addWidget(pattern)
    assert "head 2" in pattern.export_parts().caption.title.lower()
