"""The tokenization view: boundaries, ids, count, chunks, huge pastes, retraining off the
GUI thread."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import time  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import QUrl  # noqa: E402
from PySide6.QtWidgets import QToolTip  # noqa: E402

from explorer.tokenize import KINDS, train_tokenizer  # noqa: E402
from explorer.ui.tokens.pieces import MAX_SHOWN_TOKENS, visible  # noqa: E402
from explorer.ui.tokens.view import TokenizationWidget  # noqa: E402

CORPUS = ["the old wizard sees a red apple .", "two dogs chase the cat ."] * 30
TOKS = {kind: train_tokenizer(kind, CORPUS, 300) for kind in KINDS}


def _widget(qtbot, kind="char") -> TokenizationWidget:
    w = TokenizationWidget()
    qtbot.addWidget(w)
    w.set_corpus(CORPUS)
    w.set_tokenizer(TOKS[kind])
    w.resize(900, 400)
    return w


def test_shows_tokens_ids_and_count(qtbot):
    w = _widget(qtbot, "word")
    w.set_text("the cat purrs")
    assert [s for _, s in w.shown_tokens()] == ["the", "cat", "<unk>"]
    assert "3</b> tokens" in w.count_label.text()
    assert w.total_tokens() == 3
    # The spaces a word tokenizer drops stay visible (faint, outside every token).
    assert w.tokens_view.toPlainText() == "the·cat·purrs"
    ids = w.ids_view.toPlainText().split()
    assert ids == [str(i) for i, _ in w.shown_tokens()]


def test_whitespace_visible_and_chunks(qtbot):
    w = _widget(qtbot, "char")
    w.set_l_max(4)
    w.set_text("ab c\td\n")
    plain = w.tokens_view.toPlainText()
    assert "·" in plain and "→" in plain and "⏎" in plain
    assert "2 chunks" in w.status_label.text()
    assert w.ids_view.toPlainText().count("┃") == 1
    assert visible(" \n\t") == "·⏎→"
    w.set_l_max(0)
    assert "chunks" not in w.status_label.text()


def test_hover_shows_id_and_string(qtbot):
    w = _widget(qtbot, "word")
    w.show()
    w.set_text("the <mask> cat")
    w._on_hover(QUrl("tok:1"))
    tip = QToolTip.text()
    assert f"id {TOKS['word'].special_ids['mask']}" in tip and "special: mask" in tip


def test_byte_pieces_are_drawn_small_after_their_character(qtbot):
    w = _widget(qtbot, "bpe")
    w.set_text("a 🎉 b")
    assert len(w.shown_tokens()) > 5  # the emoji is several byte-level tokens
    assert w.tokens_view.small_labels()  # the pieces that cover no character, drawn small
    assert w.tokens_view.toPlainText().startswith("a·🎉")


def test_huge_paste_never_blocks_and_reports_the_total(qtbot):
    w = _widget(qtbot, "char")
    w.set_l_max(64)
    text = "the cat sat. " * 800_000  # 10.4 MB
    t0 = time.perf_counter()
    w.set_text(text)
    assert time.perf_counter() - t0 < 1.0  # the prefix only; the rest is counted off-thread
    assert len(w.shown_tokens()) == MAX_SHOWN_TOKENS
    assert "counting" in w.status_label.text() or w.total_tokens() is not None
    qtbot.waitUntil(lambda: w.total_tokens() is not None, timeout=20000)
    assert w.total_tokens() == len(text)
    assert f"showing the first 1,500 of {len(text):,} tokens" in w.status_label.text()
    assert f"{-(-len(text) // 64):,} chunks" in w.status_label.text()


def test_long_text_counted_in_background_matches_encode(qtbot):
    w = _widget(qtbot, "word")
    text = "the old wizard sees two dogs . " * 3000  # 93,000 characters: over SYNC_CHARS
    w.set_text(text)
    qtbot.waitUntil(lambda: w.total_tokens() is not None, timeout=20000)
    assert w.total_tokens() == len(TOKS["word"].encode(text).ids)
    shown = [i for i, _ in w.shown_tokens()]
    assert shown == TOKS["word"].encode(text).ids[: len(shown)]


def test_a_stale_count_is_dropped(qtbot):
    w = _widget(qtbot, "word")
    w.set_text("the cat " * 20_000)
    w.set_text("the cat")  # typed over before the count came back
    assert w.total_tokens() == 2
    qtbot.waitUntil(lambda: not w.is_busy(), timeout=20000)
    qtbot.wait(50)
    assert w.total_tokens() == 2


@pytest.mark.parametrize("kind", KINDS)
def test_empty_and_odd_text(qtbot, kind):
    w = _widget(qtbot, kind)
    w.set_text("")
    assert w.shown_tokens() == [] and w.total_tokens() == 0
    assert "no tokens" in w.tokens_view.toPlainText()
    for text in ["   \n\t ", "👩‍👩‍👧 e\u0301 漢字 שלום", "nul\x00\x01", "bad \ud800 surrogate 🎉"]:
        w.set_text(text)
        assert w.total_tokens() == len(w.shown_tokens())
    assert "U+FFFD" in w.status_label.text()


def test_picking_a_kind_retrains_off_the_gui_thread_and_emits(qtbot):
    w = _widget(qtbot, "char")
    w.set_text("the wizard")
    w.kind_box.setCurrentIndex(w.kind_box.findData("word"))
    with qtbot.waitSignal(w.tokenizer_changed, timeout=10000) as blocker:
        w.kind_box.activated.emit(w.kind_box.currentIndex())
    assert blocker.args[0].kind == "word"
    assert [s for _, s in w.shown_tokens()] == ["the", "wizard"]
    w.kind_box.setCurrentIndex(w.kind_box.findData("bpe"))
    w.vocab_box.setValue(400)  # retrains the picked kind at this size
    with qtbot.waitSignal(w.tokenizer_changed, timeout=10000) as blocker:
        pass
    assert blocker.args[0].kind == "bpe" and blocker.args[0].vocab_size <= 400
    assert w.vocab_box.value() == blocker.args[0].vocab_size
    w.close()


def test_training_errors_become_a_message(qtbot):
    w = _widget(qtbot, "char")
    w.set_corpus([])
    w._retrain()
    assert "No corpus" in w.status_label.text()
    w.set_corpus(["   "])
    w._retrain()
    qtbot.waitUntil(lambda: "Could not train" in w.status_label.text(), timeout=10000)


def test_no_tokenizer_yet(qtbot):
    w = TokenizationWidget()
    qtbot.addWidget(w)
    w.set_text("hello")
    w.set_l_max(3)
    assert w.shown_tokens() == [] and "No tokenizer" in w.tokens_view.toPlainText()


def test_compare_kinds_shows_the_length_under_each_kind(qtbot):
    w = _widget(qtbot, "bpe")
    w.set_text("the old wizard")
    assert not w.compare_label.isVisible()
    w.show()
    w.compare_box.setChecked(True)
    qtbot.waitUntil(lambda: "ℓ by kind" in w.compare_label.text(), timeout=20000)
    text = w.compare_label.text()
    assert "char 14" in text and "word 3" in text and "<b>BPE" in text
    w.set_text("the cat")
    assert "char 7" in w.compare_label.text() and "word 2" in w.compare_label.text()
