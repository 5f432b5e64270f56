"""Typing in the window: one tokenisation per keystroke, and a huge paste cut to what the
window reads, with the banner saying so (issue 26)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from explorer.state.inputs import MAX_TEXT

TIMEOUT = 30_000


def test_one_tokenisation_per_keystroke(qtbot, open_window, monkeypatch):
    window = open_window(text="the wise girl follows the sad witch . " * 20)
    tok = window.session.tokenizer
    assert window.tokens_view.tokenizer() is tok
    calls = []
    encode = tok.encode
    monkeypatch.setattr(tok, "encode", lambda text: calls.append(len(text)) or encode(text))
    box = window.inputs.text
    box.setFocus()
    box.moveCursor(box.textCursor().MoveOperation.End)
    for key in (Qt.Key.Key_A, Qt.Key.Key_Backspace, Qt.Key.Key_B):
        calls.clear()
        with qtbot.waitSignal(window.views_updated, timeout=TIMEOUT):
            qtbot.keyClick(box, key)
        qtbot.waitUntil(lambda: not window.tracing.typing(), timeout=TIMEOUT)
        assert len(calls) == 1, calls
    assert window.tokens_view.shown_tokens()[-1][1] == "b"  # the strip shows the edit
    window.close()


def test_a_huge_paste_is_cut_to_what_the_window_reads_with_the_banner(qtbot, open_window):
    window = open_window(text="")
    box = window.inputs.text
    QGuiApplication.clipboard().setText("the cat sat on the mat . " * 200_000)  # 5 MB
    box.setFocus()
    with qtbot.waitSignal(box.paste_cut, timeout=TIMEOUT) as cut:
        qtbot.keyClick(box, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert cut.args == [5_000_000, MAX_TEXT]
    qtbot.waitUntil(lambda: window.session.text == box.toPlainText(), timeout=TIMEOUT)
    assert len(box.toPlainText()) == MAX_TEXT == len(window.session.text)
    assert window.banner.isVisible() and "limit" in window.banner.text()
    with qtbot.waitSignal(window.views_updated, timeout=TIMEOUT):
        window.session.step_by(1)
    assert window.banner.isVisible()  # it stays
    box.selectAll()  # a paste that fits is not cut
    QGuiApplication.clipboard().setText("a short text")
    qtbot.keyClick(box, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert box.toPlainText() == "a short text"
    QGuiApplication.clipboard().clear()
    window.close()
