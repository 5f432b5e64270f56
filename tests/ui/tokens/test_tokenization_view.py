"""TokenizationWidget through its public API: what it draws, and that it never freezes."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import time  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QTimer, QUrl  # noqa: E402
from PySide6.QtWidgets import QToolTip  # noqa: E402

from explorer.tokenize import train_tokenizer  # noqa: E402
from explorer.tokenize.sample_text import generate_sentences  # noqa: E402
from explorer.ui.tokens.view import TokenizationWidget  # noqa: E402

CORPUS = generate_sentences(400, seed=5) + ["the old wizard sees a red apple ."] * 20


@pytest.fixture
def widget(qtbot):
    w = TokenizationWidget()
    qtbot.addWidget(w)
    w.set_corpus(CORPUS)
    w.resize(1000, 450)
    w.show()
    yield w
    qtbot.waitUntil(lambda: not w.is_busy(), timeout=60_000)
    w.close()


def test_word_tokens_ids_and_count(widget):
    tok = train_tokenizer("word", CORPUS, 300)
    widget.set_tokenizer(tok)
    widget.set_text("the old wizard sees")
    assert [s for _, s in widget.shown_tokens()] == ["the", "old", "wizard", "sees"]
    assert [i for i, _ in widget.shown_tokens()] == tok.encode("the old wizard sees").ids
    assert widget.ids_view.toPlainText().split() == [str(i) for i, _ in widget.shown_tokens()]
    assert "4" in widget.count_label.text()


def test_hover_tooltip_names_id_and_token(widget):
    tok = train_tokenizer("char", CORPUS)
    widget.set_tokenizer(tok)
    widget.set_text("a b")
    widget.tokens_view.highlighted.emit(QUrl("tok:1"))
    tip = QToolTip.text()
    assert f"id {tok.token_to_id(' ')}" in tip and "·" in tip


def test_l_max_draws_chunks_and_says_how_many(widget):
    widget.set_tokenizer(train_tokenizer("char", CORPUS))
    widget.set_text("abcdefghij")
    widget.set_l_max(4)
    assert "3 chunks" in widget.status_label.text()
    assert widget.ids_view.toPlainText().count("┃") == 2
    widget.set_l_max(20)
    assert "chunks" not in widget.status_label.text()


@pytest.mark.parametrize("text", ["", "   \n\t", "👩‍👩‍👧 é 漢字 שלום", "nul\x00\x7f", "a\ud800b"])
def test_odd_text_renders(widget, text):
    widget.set_tokenizer(train_tokenizer("bpe", CORPUS, 400))
    widget.set_text(text)
    assert len(widget.shown_tokens()) == len(widget.tokenizer().encode(text).ids)
    if "\ud800" in text:
        assert "U+FFFD" in widget.status_label.text()


def test_ten_megabyte_paste_never_freezes(widget, qtbot):
    widget.set_tokenizer(train_tokenizer("char", CORPUS))
    text = "the old wizard sees a red apple .\n" * 300_000  # 10.2 MB
    t0 = time.perf_counter()
    widget.set_text(text)
    assert time.perf_counter() - t0 < 1.5  # drawn at once, counted in the background
    assert 0 < len(widget.shown_tokens()) <= 5000
    assert "first" in widget.status_label.text()
    qtbot.waitUntil(lambda: widget.total_tokens() == len(text), timeout=60_000)
    assert f"{len(text):,}" in widget.status_label.text() + widget.count_label.text()


def test_picking_a_kind_retrains_off_the_gui_thread(widget, qtbot):
    widget.set_tokenizer(train_tokenizer("char", CORPUS))
    widget.set_text("the wizard")
    ticks: list[int] = []
    clock = QElapsedTimer()
    clock.start()
    timer = QTimer(interval=10)
    timer.timeout.connect(lambda: ticks.append(clock.elapsed()))
    timer.start()
    widget.vocab_box.setValue(600)
    widget.kind_box.setCurrentIndex(widget.kind_box.findData("unigram"))
    with qtbot.waitSignal(widget.tokenizer_changed, timeout=30_000) as blocker:
        widget.kind_box.activated.emit(widget.kind_box.currentIndex())
    timer.stop()
    new = blocker.args[0]
    assert new.kind == "unigram" and widget.tokenizer() is new
    assert [i for i, _ in widget.shown_tokens()] == new.encode("the wizard").ids
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert gaps and max(gaps) < 500  # the event loop kept running while it trained
