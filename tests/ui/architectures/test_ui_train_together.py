"""Train all three from the Side by side tab (issue 30 §4): a few steps of each, their
losses on one plot, the columns' models with the new weights, and each run saved."""

from __future__ import annotations

import torch

from explorer.train.together import LOSS_LABEL, run_folders


def test_train_all_three_plots_three_curves_and_the_columns_follow(qtbot, open_window,
                                                                   tmp_path):
    window = open_window(text="the wise girl follows the sad witch .")
    next(a for a in window.menus.view_menu.actions() if a.text() == "Side by side").trigger()
    panel = window.panel("Side by side")
    qtbot.waitUntil(lambda: len(panel.view.columns) == 3, timeout=30_000)
    box = panel.training
    assert box.button.text() == "Train all three" and not box.isVisible()
    before = [{k: v.clone() for k, v in c.session.loaded.model.state_dict().items()}
              for c in panel.sync.columns]
    finished = []
    box.finished.connect(finished.append)
    panel.train_together(tmp_path / "three", {"steps": 3, "batch_size": 2, "val_every": 0,
                                              "device": "cpu"})
    assert box.isVisible() and box.button.text() == "Stop"
    qtbot.waitUntil(lambda: bool(finished), timeout=120_000)
    assert finished[0].startswith("Done")
    plot = box.plot
    assert plot.getPlotItem().getAxis("left").labelText == LOSS_LABEL
    curves = [c for c in plot.getPlotItem().listDataItems() if c.xData is not None]
    assert len(curves) == 3
    assert all(list(c.xData) == [1, 2, 3] for c in curves)
    for column, old in zip(panel.sync.columns, before):
        assert column.session.weights_step == 3
        new = column.session.loaded.model.state_dict()
        assert any(not torch.equal(old[k], new[k]) for k in old)
        assert column.session.trace is not None
    for folder in run_folders(tmp_path / "three").values():
        assert (folder / "checkpoint").is_dir()
    assert box.button.text() == "Train all three"
    window.close()


def test_closing_the_window_stops_the_runs_and_saves_them(qtbot, open_window, tmp_path):
    window = open_window(text="the king sings .")
    next(a for a in window.menus.view_menu.actions() if a.text() == "Side by side").trigger()
    panel = window.panel("Side by side")
    qtbot.waitUntil(lambda: len(panel.view.columns) == 3, timeout=30_000)
    panel.train_together(tmp_path / "three", {"steps": 10_000, "batch_size": 2,
                                              "val_every": 0, "device": "cpu"})
    qtbot.waitUntil(lambda: len(panel.training.plot.points["encoder-decoder"][0]) >= 1,
                    timeout=120_000)
    window.close()
    assert not panel.training.is_training()
    from explorer.train.together import TrainTogether

    again = TrainTogether.resume(tmp_path / "three", {"device": "cpu"})
    assert all(1 <= t.step < 10_000 for t in again.trainers.values())
