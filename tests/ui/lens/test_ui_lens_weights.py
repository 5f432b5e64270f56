"""The Lens tab on new weights of the same model (training): the grid shows the new
weights' lens in place; the inner view, the chosen position and the scroll stay."""

from __future__ import annotations

import torch

from explorer.analysis import logit_lens
from tests.snapshots import trained
from tests.ui.lens.test_ui_lens import TIMEOUT, lens_tab, model_ids, settle

LONG = "the king sings and the queen follows the sad witch . " * 3


def test_new_weights_update_the_lens_in_place(open_window, qtbot):
    window = open_window(arch="decoder", text=LONG)
    window.app_qtbot = qtbot
    window.resize(900, 700)
    tab = lens_tab(window)
    v = tab.view
    v.position_box.setValue(3)  # a position of the user's, not the last
    settle(window, tab)
    bar = v.grid_area.horizontalScrollBar()
    assert bar.maximum() > 0  # the grid is wider than the view
    bar.setValue(bar.maximum())  # the user looks at the last positions
    v.target_edit.setText("s")
    settle(window, tab)
    before = tab.last_job
    first = window.session.model
    window.show_weights(trained(window.session.loaded, 7), 7)
    qtbot.waitUntil(lambda: tab.last_job is not before and window.session.model is not first
                    and tab.last_job is not None and tab.last_job.full, timeout=TIMEOUT)
    settle(window, tab)
    s = window.session
    assert tab.last_job.position == 3 and v.position_box.value() == 3
    assert v.grid.column == 3 and v.target_edit.text() == "s"
    assert bar.value() == bar.maximum()  # not scrolled back to the chosen column
    expected = logit_lens(s.model, model_ids(window))
    assert torch.equal(v.grid.lens.top_ids, expected.top_ids)  # the new weights' lens
    v.views.setCurrentIndex(1)
    window.show_weights(trained(s.loaded, 8), 8)
    qtbot.waitUntil(lambda: tab.last_job.generation == tab._generation
                    and s.weights_step == 8 and not tab.busy(), timeout=TIMEOUT)
    settle(window, tab)
    assert v.views.currentIndex() == 1 and v.position_box.value() == 3
