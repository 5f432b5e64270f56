"""The lecturer's path: single-key jumps (A, M, O, T) from launch, never while typing."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from explorer.state.navigation import next_of
from explorer.ui.window.menus import SHORTCUTS

TIMEOUT = 30_000


def press(qtbot, window, key):
    target = QApplication.focusWidget() or window
    qtbot.keyClick(target, key)


def test_layer_one_head_one_pattern_is_one_key_from_launch(qtbot, open_window):
    window = open_window(arch="decoder", text="the king sings .")
    s = window.session
    press(qtbot, window, Qt.Key.Key_A)  # one key press
    assert s.step.name == "blocks.0.attn.pattern" and s.head == 0
    press(qtbot, window, Qt.Key.Key_A)
    assert s.step.name == "blocks.1.attn.pattern"
    press(qtbot, window, Qt.Key.Key_M)
    assert s.step.name == "blocks.1.mlp_norm"  # the MLP block starts with its norm
    press(qtbot, window, Qt.Key.Key_O)
    assert s.step.name == "probs"
    press(qtbot, window, Qt.Key.Key_T)
    assert s.step.name == "embed.ids"
    window.inputs.text.setFocus()
    before = s.step.name
    qtbot.keyClick(window.inputs.text, Qt.Key.Key_A)  # typing: the key types
    assert window.inputs.text.toPlainText().startswith("a") and s.step.name == before
    step_menu = next(a.menu() for a in window.menuBar().actions() if "Step" in a.text())
    texts = [a.text() for a in step_menu.actions()]
    assert "Next attention pattern" in texts and "Output distribution" in texts
    assert {"A", "M", "O", "T"} <= {row[0] for row in SHORTCUTS}
    window.close()


def test_jumps_wrap_round_and_find_cross_attention():
    from explorer.state import Session, random_model

    s = Session(random_model("encoder-decoder", 0), "the cat", "a dog")
    assert s.record_now()
    names = [st.name for st in s.steps]
    seen = []
    i = 0
    for _ in range(8):
        i = next_of(s.steps, i, "attention")
        seen.append(names[i])
    assert seen[:3] == ["encoder.blocks.0.attn.pattern", "encoder.blocks.1.attn.pattern",
                        "decoder.blocks.0.attn.pattern"]
    assert "decoder.blocks.0.cross_attn.pattern" in seen
    assert names[next_of(s.steps, len(names) - 1, "tokens")] == "encoder.embed.ids"
