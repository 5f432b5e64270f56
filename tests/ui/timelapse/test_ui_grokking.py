"""The Time-lapse's grokking view: shown for a modular-arithmetic run only, its cursor and
Fourier bars follow the slider; the Train tab's accuracy plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from explorer.cli import main
from explorer.train import StepResult
from explorer.ui.train.plots import TrainCurves

TIMEOUT = 30_000


@pytest.fixture(scope="module")
def grok_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("grok") / "run"
    assert main(["train", "--preset", "grokking", "--out", str(out), "--steps", "4",
                 "--val-every", "2", "--snapshot-every", "2", "--d-e", "32", "--d-mlp", "64",
                 "--threads", "1", "--quiet"]) == 0
    return out


def test_a_grokking_run_shows_accuracy_and_the_spectrum_at_the_slider(qtbot, view, grok_run):
    view.set_text("12 34 =")
    view.set_run(grok_run)
    panel = view.grokking
    assert panel.isVisible() and panel.spectra.steps == [0, 2, 4]
    steps, val = panel.val_curve.getData()
    assert list(steps) == [2, 4] and all(0.0 <= v <= 1.0 for v in val)
    view.show_index(1)
    assert panel.cursor.value() == 2
    heights = panel.bars.opts["height"]
    np.testing.assert_allclose(heights, panel.spectra.spectra[1].norms.numpy()[1:])
    view.show_index(0)
    assert panel.cursor.value() == 0
    np.testing.assert_allclose(panel.bars.opts["height"],
                               panel.spectra.spectra[0].norms.numpy()[1:])


def test_another_run_hides_it(qtbot, view, tmp_path):
    out = tmp_path / "run"
    assert main(["train", "--preset", "tiny", "--data", "induction", "--out", str(out),
                 "--steps", "2", "--snapshot-every", "2", "--quiet"]) == 0
    view.set_run(out)
    assert not view.grokking.isVisible()


def test_the_train_curves_add_an_accuracy_plot_when_a_run_reports_accuracy(qtbot):
    curves = TrainCurves()
    qtbot.addWidget(curves)
    plain = StepResult(step=1, loss=2.0, lr=1e-3, grad_norm=1.0, tokens_per_s=0.0,
                       elapsed_s=0.0, eta_s=0.0, tokens=0)
    curves.append([plain])
    curves.redraw()
    assert curves.acc_plot.scene() is None  # not in the layout
    graded = StepResult(step=2, loss=1.0, lr=1e-3, grad_norm=1.0, tokens_per_s=0.0,
                        elapsed_s=0.0, eta_s=0.0, tokens=0, val_loss=3.0,
                        train_accuracy=1.0, val_accuracy=0.4)
    curves.append([graded])
    curves.redraw()
    assert curves.acc_plot.scene() is not None
    assert list(curves.val_acc_curve.getData()[1]) == [0.4]
    curves.reset()
    assert curves.acc_plot.scene() is None


def test_the_train_tab_shows_the_grokking_presets_task_and_tokenizer(qtbot, tmp_path):
    from explorer.train.options import plan_run
    from explorer.ui.train.panel import TrainPanel

    panel = TrainPanel(runs_dir=tmp_path)
    qtbot.addWidget(panel)
    panel.show_plan(plan_run("grokking", {}))
    form = panel.form
    assert form.task_box.currentData() == "last-token"
    assert form.tokenizer_box.currentText() == "word"
    assert form.data_box.currentText() == "modular"
    assert form.batch_spin.value() == 4096
