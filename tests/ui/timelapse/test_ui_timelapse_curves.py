"""The Time-lapse's head curves (each head's score over the snapshots beside the loss, the
slider's cursor, a click opens that head at that snapshot) and its demo buttons."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF

from explorer.state.head_progress import ProgressTable, measure_snapshots
from explorer.state.timelapse import TimeLapseRun
from explorer.train.presets import PRESETS, register_preset
from explorer.ui.timelapse.demos import DemoButtons
from tests.ui.timelapse.conftest import snapshot_run

TIMEOUT = 30_000


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    return snapshot_run(tmp_path_factory.mktemp("curves"),
                        "abcdefghij klmnop abcdefghij klmnop qrstuv qrstuv\n", 100)


class _Click:
    def __init__(self, x: float) -> None:
        self.x = x

    def pos(self) -> QPointF:
        return QPointF(self.x, 0.5)


def test_each_heads_curve_is_its_score_at_every_snapshot(qtbot, view, run):
    view.set_text("abcabc")
    view.set_run(run)
    curves = view.curves
    qtbot.waitUntil(lambda: len(curves.table.steps) == 4, timeout=TIMEOUT)
    assert curves.table.steps == [0, 4, 8, 12]
    lapse = TimeLapseRun(run)
    table = ProgressTable()
    table.add(measure_snapshots(lapse.snapshots, lapse.tokenizer))
    want = table.values("prefix_matching")
    assert len(curves._items) == 4  # L1H1 … L2H2
    for i, item in enumerate(curves._items):
        x, y = item.getData()
        assert list(x) == [0, 4, 8, 12]
        np.testing.assert_allclose(y, want[:, i // 2, i % 2], rtol=1e-5)
    curves.measure_box.setCurrentIndex(curves.measure_box.findData("previous_token"))
    _, y = curves._items[0].getData()
    np.testing.assert_allclose(y, table.values("previous_token")[:, 0, 0], rtol=1e-5)
    curves.measure_box.setCurrentIndex(curves.measure_box.findData("icl"))
    assert len(curves._items) == 1  # the model's in-context-learning score
    np.testing.assert_allclose(curves._items[0].getData()[1], table.icl(), rtol=1e-5)
    x, _ = curves.loss_curve.getData()
    assert list(x) == lapse.steps
    assert curves.proof_label.text().startswith("At step 12: Ablating L1H")


def test_the_slider_moves_the_cursor_and_a_click_opens_that_head_there(qtbot, view, run):
    view.set_text("abcabc")
    view.set_run(run)
    qtbot.waitUntil(lambda: len(view.curves.table.steps) == 4, timeout=TIMEOUT)
    view.show_step(8)
    qtbot.waitUntil(lambda: view.frame is not None and view.frame.step == 8, timeout=TIMEOUT)
    assert view.curves.cursor_step == 8
    assert view.curves.cursors[0].value() == 8
    item = view.curves._items[2]  # L2H1
    item.sigClicked.emit(item, _Click(5.0))  # nearest snapshot: step 4
    qtbot.waitUntil(lambda: view.frame is not None and view.frame.step == 4
                    and (view.frame.layer, view.frame.head) == (1, 0), timeout=TIMEOUT)
    assert view.curves.cursor_step == 4


def test_the_empty_state_offers_the_demos_that_exist(qtbot):
    buttons = DemoButtons()
    qtbot.addWidget(buttons)
    assert "induction" in buttons.buttons
    assert ("grokking" in buttons.buttons) == ("grokking" in PRESETS)
    with qtbot.waitSignal(buttons.train_requested) as got:
        buttons.buttons["induction"].click()
    assert got.args == [{"preset": "induction"}]


def test_a_grokking_preset_gets_its_button(qtbot):
    added = "grokking" not in PRESETS
    if added:
        register_preset("grokking", {"task": "next-token", "steps": 10})
    try:
        buttons = DemoButtons()
        qtbot.addWidget(buttons)
        assert buttons.buttons["grokking"].text() == "Train the grokking demo"
    finally:
        if added:
            PRESETS.pop("grokking")


def test_the_demos_hide_once_a_run_is_shown(qtbot, view, run):
    assert not view.demos.isHidden()
    with qtbot.waitSignal(view.train_requested) as got:
        view.demos.buttons["induction"].click()
    assert got.args == [{"preset": "induction"}]
    view.set_run(run)
    assert view.demos.isHidden()
