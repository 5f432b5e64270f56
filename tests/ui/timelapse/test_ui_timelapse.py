"""The Time-lapse tab: the snapshot of the step selected, the loss cursor at that step,
Play through every snapshot, export as GIF and PNG frames, and the bundled scene."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from explorer.state.timelapse import TimeLapseRun, read_loss_curve
from explorer.train.snapshots import list_snapshots
from tests.ui.timelapse.conftest import snapshot_run

TIMEOUT = 30_000
TEXT = "the cat sat. the cat sat."


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    return snapshot_run(tmp_path_factory.mktemp("lapse"),
                        "the cat sat on the mat. a dog ran to the park.\n", 150)


def test_the_time_lapse_shows_the_snapshot_of_the_step_selected(qtbot, view, run):
    view.set_text(TEXT)
    view.set_run(run)
    assert view.slider.maximum() == 3  # steps 0, 4, 8, 12
    qtbot.waitUntil(lambda: view.frame is not None and view.frame.step == 12, timeout=TIMEOUT)
    view.select_head(1, 1)
    view.show_step(8)
    qtbot.waitUntil(lambda: view.frame is not None and view.frame.step == 8
                    and (view.frame.layer, view.frame.head) == (1, 1), timeout=TIMEOUT)
    lapse = TimeLapseRun(run)
    snaps = list_snapshots(run)
    want = lapse.frame(snaps[2], TEXT, 1, 1)
    np.testing.assert_allclose(view.frame.pattern, want.pattern)
    other = lapse.frame(snaps[0], TEXT, 1, 1)
    assert not np.allclose(other.pattern, want.pattern)
    steps, losses = read_loss_curve(run)
    assert view.frame.loss == losses[steps.index(8)]  # the loss curve's cursor step
    assert "step 8 · snapshot 3 of 4" in view.step_label.text()
    at_8 = view.canvas.grab().toImage()
    view.show_step(0)
    qtbot.waitUntil(lambda: view.frame.step == 0, timeout=TIMEOUT)
    assert view.canvas.grab().toImage() != at_8


def test_play_walks_every_snapshot_then_export_as_gif_and_frames(qtbot, view, run, tmp_path):
    from PIL import Image

    view.set_text(TEXT)
    view.set_run(run)
    view.show_index(0)
    qtbot.waitUntil(lambda: view.frame is not None and view.frame.step == 0, timeout=TIMEOUT)
    shown = []
    view.frame_shown.connect(shown.append)
    view.play()
    qtbot.waitUntil(lambda: view.play_button.text().startswith("▶"), timeout=TIMEOUT)
    assert [s for s in shown if s] == [4, 8, 12]
    gif = view.export_gif(tmp_path / "lapse.gif")
    with Image.open(gif) as image:
        assert image.n_frames == 4 and image.size == (1280, 720)
    frames = view.export_frames(tmp_path / "frames")
    assert [p.name for p in frames] == [f"frame-00{i}.png" for i in range(1, 5)]


def test_a_run_without_snapshots_says_how_to_get_them(qtbot, view, tmp_path):
    view.set_run(tmp_path)
    assert "no snapshots" in view.message and not view.play_button.isEnabled()


def test_the_bundled_scene_trains_the_induction_task_and_watches_it(qtbot, open_window,
                                                                    tmp_path):
    from explorer.state.scene import bundled_scenes, load_scene

    path = bundled_scenes()["A two-layer induction circuit forms (the induction task)"]
    scene = load_scene(path)
    window = open_window()
    train = window.panel("Train").view
    train.runs_dir = tmp_path / "runs"
    train.ask = lambda title, text: True
    lapse = window.panel("Time-lapse")
    try:
        assert window.scenes.open_scene_file(path)
        qtbot.waitUntil(lambda: train.trainer is not None, timeout=TIMEOUT * 2)
        assert train.form.data_box.currentText() == "induction-ids"
        assert "induction" in train.trainer.data.describe()
        cfg = train.trainer.config
        assert cfg.snapshot_every == 100 and cfg.task == "next-token"
        assert train.trainer.model.cfg.n_layers == 2
        assert window.tabs.currentWidget() is lapse.widget
        assert lapse.view.run is not None and lapse.view.run.run_dir == train.run_dir
        assert lapse.view.text == scene.text and lapse.view.auto_head
        qtbot.waitUntil(lambda: lapse.view.frame is not None, timeout=TIMEOUT * 2)
        frame = lapse.view.frame  # the newest snapshot as it arrives: step 0, 100, ...
        assert frame.step % 100 == 0 and frame.induction is not None
        assert frame.step in [s.step for s in lapse.view.run.snapshots]
    finally:
        train.stop()
        train.wait(30_000)
