"""A norm step opens up: m, v, the normalised X and the result, each a view with its shape,
and the line of Algorithm 6 that computes it highlighted in the Paper panel."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

TIMEOUT = 30_000


def test_stepping_through_a_norm_steps_inside(qtbot, open_window):
    window = open_window(arch="decoder", text="the king sings .")
    s = window.session
    s.select_name("blocks.0.attn.q")
    assert not window.norm_inside.isVisible()
    s.select_name("blocks.0.attn_norm")
    bar = window.norm_inside
    assert bar.isVisible() and bar.part == "output"
    inside = s.norm_inside()
    expected = {"mean": (1, inside.mean.numpy()[None, :]), "var": (2, inside.var.numpy()[None, :]),
                "normalized": (3, inside.normalized.numpy()), "result": (3, inside.result.numpy())}
    for part, (line, values) in expected.items():
        qtbot.mouseClick(bar.buttons[part], Qt.MouseButton.LeftButton)
        data = window.heatmap.data
        assert np.array_equal(data.raw, values), part
        assert window.pseudocode.inner.number == 6
        assert window.pseudocode.inner.current_line() == line
        assert data.step.shape in window.heatmap.formula.text() or "<" in \
            window.heatmap.formula.text()
    output = s.trace.paper("blocks.0.attn_norm").numpy()
    assert np.array_equal(window.heatmap.data.raw, output)  # the result is the step itself
    window.focus_steps()
    qtbot.keyClick(window.heatmap.plot, Qt.Key.Key_I)  # I: round to the step itself
    assert bar.part == "output" and window.heatmap.data.step.name == "blocks.0.attn_norm"
    qtbot.keyClick(window.heatmap.plot, Qt.Key.Key_I)
    assert bar.part == "mean" and window.pseudocode.inner.current_line() == 1
    qtbot.keyClick(window.heatmap.plot, Qt.Key.Key_Right)  # the next step resets the bar
    assert bar.part == "output" and not bar.isVisible()
    window.close()
