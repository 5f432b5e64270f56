"""The tokenization view: boundaries, ids, count, chunks, retraining off the GUI thread."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from explorer.tokenize import train_tokenizer  # noqa: E402
from explorer.ui.tokenization_view import TokenizationWidget, visible  # noqa: E402

CORPUS = ["the old wizard sees a red apple .", "two dogs chase the cat ."] * 30


def _widget(qtbot, kind="char"):
    w = TokenizationWidget()
    qtbot.addWidget(w)
    w.set_corpus(CORPUS)
    w.set_tokenizer(train_tokenizer(kind, CORPUS, 200))
    w.resize(900, 400)
    return w


def test_shows_tokens_ids_and_count(qtbot):
    w = _widget(qtbot, "word")
    w.set_text("the cat sees")
    assert [s for _, s in w.shown_tokens()] == ["the", "cat", "sees"]
    assert "3</b> tokens" in w.count_label.text()
    assert "·" not in w.tokens_view.toPlainText()  # word tokens carry no spaces
    ids = w.ids_view.toPlainText().split()
    assert ids == [str(i) for i, _ in w.shown_tokens()]


def test_whitespace_visible_and_chunks(qtbot):
    w = _widget(qtbot, "char")
    w.set_l_max(4)
    w.set_text("ab c\td\n")
    plain = w.tokens_view.toPlainText()
    assert "·" in plain and "→" in plain and "⏎" in plain
    assert "2 chunks" in w.status_label.text()
    assert visible(" \n\t") == "·⏎→"


def test_huge_paste_is_capped_with_a_note(qtbot):
    w = _widget(qtbot, "char")
    w.set_text("the cat " * 2000)
    assert len(w.shown_tokens()) == 1500
    assert "first 1,500 of 16,000" in w.status_label.text()


def test_empty_and_odd_text(qtbot):
    w = _widget(qtbot, "bpe")
    w.set_text("")
    assert w.shown_tokens() == []
    w.set_text("bad \ud800 surrogate 🎉")
    assert "U+FFFD" in w.status_label.text()


def test_picking_a_kind_retrains_and_emits(qtbot):
    w = _widget(qtbot, "char")
    w.set_text("the wizard")
    w.kind_box.setCurrentIndex(w.kind_box.findData("word"))
    with qtbot.waitSignal(w.tokenizer_changed, timeout=10000) as blocker:
        w.kind_box.activated.emit(w.kind_box.currentIndex())
    assert blocker.args[0].kind == "word"
    assert [s for _, s in w.shown_tokens()] == ["the", "wizard"]
    w.close()
