"""The Lens tab in compare mode (text B, A − B) while the Train tab trains: a new model and
then new weights arrive while B's trace and the tab's jobs are on their way. No error is
raised (no "different points", no paint with stale sizes), and once training stops A, B
and A − B are the lens of the latest weights, as are the attribution and the projection."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from explorer.analysis import (
    compare_lens,
    direct_logit_attribution,
    logit_lens,
    residual_projection,
)
from explorer.ui.lens.grid import LensGrid
from tests.snapshots import trained
from tests.ui.lens.test_ui_lens import TIMEOUT, lens_tab, model_ids, settle

B_TEXT = "the queen sings a sad song ."


@pytest.fixture
def window(qtbot, training_window):
    w = training_window("the king sings and the witch follows .")
    w.app_qtbot = qtbot
    w.resize(1200, 800)
    return w


def compare_shown(tab) -> bool:
    job = tab.last_job
    return job is not None and job.full and job.lens_b is not None \
        and tab.view.grid.comparison is not None


def check_latest(window, tab) -> None:
    """A, B and A − B (and the attribution) are those of the session's current weights."""
    s = window.session
    grid = tab.view.grid
    ids_a = model_ids(window)
    ids_b = s.compare.trace["embed.ids"][0].tolist()
    lens_a = logit_lens(s.model, ids_a, targets=tab.last_job.targets)
    lens_b = logit_lens(s.model, ids_b)
    assert torch.equal(grid.lens.top_ids, lens_a.top_ids)
    assert torch.allclose(grid.lens.top_probs, lens_a.top_probs, atol=1e-5)
    assert torch.allclose(grid.comparison.diff, compare_lens(lens_a, lens_b).diff, atol=1e-5)
    assert torch.allclose(tab.last_job.lens_b.top_probs, lens_b.top_probs, atol=1e-5)
    t = tab.last_job.position
    dla = direct_logit_attribution(s.model, ids_a, t, int(tab.last_job.targets[t]))
    assert tab.last_job.dla.logit == pytest.approx(dla.logit, abs=1e-4)
    assert torch.allclose(tab.last_job.dla.values, dla.values, atol=1e-4)


def test_compare_mode_follows_a_new_model_and_new_weights(window, qtbot):
    tab = lens_tab(window)
    v = tab.view
    window.menus.compare_action.trigger()
    qtbot.keyClicks(window.inputs.compare, B_TEXT)
    qtbot.waitUntil(lambda: compare_shown(tab), timeout=TIMEOUT)
    v.mode_box.setCurrentText("A − B")
    assert v.grid.mode == "A − B"
    v.grid.repaint()
    train = window.panel("Train").view
    train.snapshot_interval_s = 0.1
    weights = []
    window.weights_loaded.connect(weights.append)
    with qtbot.waitSignal(window.model_loaded, timeout=TIMEOUT):  # the run's own model
        train.start()
    for index in (0, 1, 2):  # every inner view in front while snapshots arrive
        v.views.setCurrentIndex(index)
        count = len(weights)
        qtbot.waitUntil(lambda n=count: len(weights) >= n + 2, timeout=TIMEOUT)
        v.grid.repaint()
    v.views.setCurrentIndex(0)
    with qtbot.waitSignal(train.training_finished, timeout=TIMEOUT):
        train.stop()
    qtbot.waitUntil(lambda: window.session.compare.ready, timeout=TIMEOUT)
    settle(window, tab)
    qtbot.waitUntil(lambda: compare_shown(tab), timeout=TIMEOUT)
    v.grid.repaint()
    assert v.grid.mode == "A − B" and v.mode_box.currentText() == "A − B"
    check_latest(window, tab)


def of_weights(job, models) -> list[int]:
    """The indices of the models whose lens of A is the job's."""
    ids = job.ids
    return [i for i, m in enumerate(models)
            if torch.allclose(logit_lens(m, ids, targets=job.targets).top_probs,
                              job.lens.top_probs, atol=1e-5)]


def test_new_weights_never_mix_a_and_b(window, qtbot):
    """Snapshots of the same model come while A's and B's traces are recorded again:
    every job the tab computes combines A and B of one set of weights."""
    tab = lens_tab(window)
    v = tab.view
    window.menus.compare_action.trigger()
    qtbot.keyClicks(window.inputs.compare, B_TEXT)
    qtbot.waitUntil(lambda: compare_shown(tab), timeout=TIMEOUT)
    v.mode_box.setCurrentText("A − B")
    s = window.session
    jobs = []
    tab._runner.finished.connect(jobs.append)
    models = [s.model]
    for step in range(1, 6):
        window.show_weights(trained(s.loaded, step), step)
        models.append(s.model)
        qtbot.waitUntil(lambda: s.compare.ready and s.trace is not None, timeout=TIMEOUT)
        qtbot.wait(20 * step)
        v.grid.repaint()
    qtbot.waitUntil(lambda: s.weights_step == 5 and s.compare.ready, timeout=TIMEOUT)
    settle(window, tab)
    qtbot.waitUntil(lambda: compare_shown(tab), timeout=TIMEOUT)
    assert v.grid.mode == "A − B"
    check_latest(window, tab)
    full = [job for job in jobs if job.full and job.lens is not None]
    assert len(full) >= 2  # (a job waiting is replaced by a newer one)
    ids_b = s.compare.trace["embed.ids"][0].tolist()
    for job in full:
        (a,) = of_weights(job, models)  # A of exactly one set of weights
        assert job.lens_b is not None
        expected_b = logit_lens(models[a], ids_b)
        assert torch.allclose(job.lens_b.top_probs, expected_b.top_probs, atol=1e-5), \
            f"A of weights {a}, B of others"
        t = job.position  # the attribution and the projection: A's weights too
        dla = direct_logit_attribution(models[a], list(job.ids), t, int(job.targets[t]))
        assert torch.allclose(job.dla.values, dla.values, atol=1e-4)
        pca = residual_projection(models[a], list(job.ids), job.pca_step)
        assert torch.allclose(job.pca.variance, pca.variance, rtol=1e-4)


def test_the_grid_drops_a_b_of_other_points(qtbot):
    """A grid given A of another model than the B it holds (a new model while comparing)
    drops that B instead of raising, and paints with the new sizes in every mode."""
    from explorer.state import default_model

    big = default_model("decoder").model
    torch.manual_seed(0)
    small = type(big)(dataclasses.replace(big.cfg, n_layers=1)).eval()  # fewer points
    ids = [1, 2, 3, 4, 5]
    lens_big, lens_small = logit_lens(big, ids), logit_lens(small, ids[:3])
    assert len(lens_small.points) < len(lens_big.points)
    grid = LensGrid()
    qtbot.addWidget(grid)
    grid.show()
    vocab = [f"t{i}" for i in range(big.cfg.vocab_size)]
    grid.set_lens(lens_small, ["a"] * 3, vocab)
    grid.set_compare(lens_small, ["b"] * 3)
    grid.set_mode("B")
    grid.repaint()
    grid.set_lens(lens_big, ["a"] * 5, vocab)  # B of the other model is dropped
    assert grid.comparison is None
    grid.repaint()
    grid.set_compare(lens_small, ["b"] * 3)  # and a B of other points is refused
    assert grid.comparison is None
    grid.repaint()
    for mode in ("A", "B", "A − B"):
        grid.set_mode(mode)
        grid.repaint()
    assert grid.export_parts().table.values.shape == (len(lens_big.points), 5)
