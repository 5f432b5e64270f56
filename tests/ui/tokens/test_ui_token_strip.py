"""The token strip of a long text: a keystroke lays out only what changed, a paint draws
only the rows in view (issue 26: a keystroke's cost does not grow with the text)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from explorer.tokenize import train_tokenizer  # noqa: E402
from explorer.ui.tokens.pieces import MAX_SHOWN_TOKENS  # noqa: E402
from explorer.ui.tokens.view import TokenizationWidget  # noqa: E402

CORPUS = ["the old wizard sees a red apple .", "two dogs chase the cat ."] * 30


def _shown(qtbot, kind: str) -> TokenizationWidget:
    w = TokenizationWidget()
    qtbot.addWidget(w)
    w.set_tokenizer(train_tokenizer(kind, CORPUS, 300))
    w.resize(700, 200)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_only_the_rows_in_view_are_painted(qtbot):
    w = _shown(qtbot, "char")
    w.set_text("the old wizard sees a red apple . " * 40)  # 1,360 tokens
    strip = w.tokens_view
    assert strip.row_count() > 5 * strip.rows_in_view()
    strip.viewport().grab()  # paints it
    assert 0 < strip.painted_rows <= strip.rows_in_view()
    strip.verticalScrollBar().setValue(strip.verticalScrollBar().maximum())
    strip.viewport().grab()  # paints it
    assert 0 < strip.painted_rows <= strip.rows_in_view()


def test_a_keystroke_at_the_end_lays_out_only_the_new_tokens(qtbot):
    w = _shown(qtbot, "word")
    text = "the old wizard sees a red apple . " * 100  # 800 tokens
    w.set_text(text)
    strip, ids = w.tokens_view, w.ids_view
    before, before_ids = strip.laid_out, ids.laid_out
    w.set_text(text + "the")  # one more word at the end
    assert strip.laid_out - before <= 3  # its gap, the word and nothing else
    assert ids.laid_out - before_ids == 1
    assert strip.toPlainText().endswith("·the")
    assert [i for i, _ in w.shown_tokens()] == w.tokenizer().encode(text + "the").ids
    w.set_text("two " + text)  # an edit at the start lays everything out again
    assert strip.toPlainText().startswith("two·the·old")
    assert ids.toPlainText().split() == [str(i) for i, _ in w.shown_tokens()]


def test_edits_in_the_middle_and_deletions_draw_what_a_fresh_strip_draws(qtbot):
    w = _shown(qtbot, "bpe")
    fresh = _shown(qtbot, "bpe")
    fresh.set_tokenizer(w.tokenizer())
    text = "the old wizard sees a red apple .\ntwo dogs chase the cat . " * 20
    for edit in (text, text[:300] + "Z" + text[300:], text[:-5], text[:150], "",
                 text + " 🎉"):
        w.set_text(edit)
        fresh.set_l_max(0)  # a full layout
        fresh.set_text(edit)
        assert w.tokens_view.toPlainText() == fresh.tokens_view.toPlainText()
        assert w.ids_view.toPlainText() == fresh.ids_view.toPlainText()


def test_a_text_longer_than_what_is_drawn_keeps_its_cap(qtbot):
    w = _shown(qtbot, "char")
    w.set_text("ab" * MAX_SHOWN_TOKENS)
    assert len(w.shown_tokens()) == MAX_SHOWN_TOKENS
    before = w.tokens_view.laid_out
    w.set_text("ab" * MAX_SHOWN_TOKENS + "c")  # past the drawn tokens: nothing to draw
    assert w.tokens_view.laid_out == before
