"""Comparing the typed text A with a second text B in the real window: Ctrl+B shows the
row, typing B records it on its own worker, the Attention and Output tabs show A, B and
A − B, and hiding the row ends the comparison."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from tests.ui.conftest import WINDOW_TIMEOUT, up_to_date


def _compare_ready(window):
    return window.session.compare.ready


def test_compare_with_b_in_attention_and_output_tabs(open_window, qtbot):
    window = open_window(text="the king sings .")
    window.show_tab("Attention")
    attention = window.panel("Attention").view
    output = window.panel("Output").view
    assert window.inputs.compare.isHidden() and attention.compare_bar.isHidden()
    window.menus.compare_action.trigger()  # Ctrl+B: the row appears, with the cursor in it
    assert window.inputs.compare_visible() and window.menus.compare_action.isChecked()
    qtbot.keyClicks(window.inputs.compare, "the king sings .")
    qtbot.waitUntil(lambda: _compare_ready(window), timeout=WINDOW_TIMEOUT)
    qtbot.waitUntil(lambda: not attention.compare_bar.isHidden(), timeout=WINDOW_TIMEOUT)
    assert "B:" in window.inputs.note.text()
    # The same text: A − B is zero everywhere and KL is 0.
    window.session.select_name("blocks.1.attn.pattern")
    attention.set_mode("A − B")
    assert attention.pattern.signed and float(np.abs(attention.pattern.weights).max()) == 0
    assert "A − B" in attention.pattern.title_label.text()
    up_to_date(window)  # the Output tab, behind the Attention tab
    assert not output.kl_label.isHidden() and "0.0000 nats" in output.kl_label.text()
    assert np.allclose(output.second_distribution(), output.distribution())

    # A different B: its own pattern in mode B, a non-zero difference, a positive KL.
    window.inputs.compare.clear()
    qtbot.keyClicks(window.inputs.compare, "a queen sang")
    qtbot.waitUntil(lambda: _compare_ready(window) and window.session.compare.text ==
                    "a queen sang", timeout=WINDOW_TIMEOUT)
    qtbot.waitUntil(lambda: "0.0000 nats" not in output.kl_label.text(),
                    timeout=WINDOW_TIMEOUT)
    b_labels = list(window.session.compare.labels)
    attention.set_mode("B")
    assert attention.pattern.query_labels == b_labels and not attention.pattern.signed
    attention.set_mode("A − B")
    n = min(len(b_labels), len(window.session.x_labels))
    assert attention.pattern.weights.shape == (n, n)
    assert float(np.abs(attention.pattern.weights).max()) > 0
    assert "compared on the first" in attention.compare_note.text()
    a_labels = list(window.session.x_labels)
    assert attention.pattern.query_labels == [
        x if x == y else f"{x}/{y}" for x, y in zip(a_labels[:n], b_labels[:n])]
    if len(b_labels) < len(window.session.x_labels):  # A's last position is past B's end
        assert output.bars.second is None and "nothing to compare" in output.kl_label.text()
    output.set_position(n - 1)
    assert output.bars.second is not None and len(output.bars.second) == len(output.shown())
    assert "KL(" in output.kl_label.text() and "nats" in output.kl_label.text()

    # Ctrl+B again: no comparison, views back to A only.
    window.menus.compare_action.trigger()
    qtbot.waitUntil(lambda: not window.session.compare.active, timeout=WINDOW_TIMEOUT)
    assert attention.compare_bar.isHidden() and attention.mode == "A"
    up_to_date(window)
    assert not attention.pattern.signed and output.bars.second is None
    assert output.kl_label.isHidden()
    assert window.inputs.compare.toPlainText() == "a queen sang"  # kept for next time


def test_compare_text_and_row_survive_a_restart(open_window, qtbot):
    window = open_window()
    window.menus.compare_action.trigger()
    qtbot.keyClicks(window.inputs.compare, "a dog")
    qtbot.waitUntil(lambda: _compare_ready(window), timeout=WINDOW_TIMEOUT)
    window.close()
    again = open_window()
    assert again.inputs.compare_visible() and again.menus.compare_action.isChecked()
    assert again.inputs.compare.toPlainText() == "a dog"
    assert again.session.text == again.inputs.text.toPlainText() == "the king sings ."
    qtbot.waitUntil(lambda: _compare_ready(again), timeout=WINDOW_TIMEOUT)
    assert again.session.compare.text == "a dog"


def test_escape_in_the_compare_box_gives_the_keys_back(open_window, qtbot):
    window = open_window()
    window.menus.compare_action.trigger()
    assert window.inputs.compare.hasFocus() or window.focusWidget() is window.inputs.compare
    qtbot.keyClick(window.inputs.compare, Qt.Key.Key_Escape)
    assert window.focusWidget() is not window.inputs.compare


def test_a_scene_keeps_text_b_and_the_difference_view(open_window, qtbot, tmp_path):
    window = open_window(text="the king sings .")
    window.menus.compare_action.trigger()
    qtbot.keyClicks(window.inputs.compare, "the queen sings .")
    qtbot.waitUntil(lambda: _compare_ready(window), timeout=WINDOW_TIMEOUT)
    attention = window.panel("Attention").view
    qtbot.waitUntil(lambda: not attention.compare_bar.isHidden(), timeout=WINDOW_TIMEOUT)
    window.tabs.setCurrentWidget(window.panel("Attention").widget)
    attention.set_mode("A − B")
    path = tmp_path / "compare.json"
    assert window.scenes.save_scene_to(str(path))
    window.menus.compare_action.trigger()  # end the comparison, then open the scene again
    qtbot.waitUntil(lambda: not window.session.compare.active, timeout=WINDOW_TIMEOUT)
    window.inputs.compare.clear()
    assert attention.mode == "A"
    assert window.scenes.open_scene_file(str(path))
    qtbot.waitUntil(lambda: _compare_ready(window) and attention.mode == "A − B",
                    timeout=WINDOW_TIMEOUT)
    assert window.inputs.compare.toPlainText() == "the queen sings ."
    assert window.menus.compare_action.isChecked() and attention.pattern.signed
