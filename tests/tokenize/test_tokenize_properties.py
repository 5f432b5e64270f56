"""Property tests on arbitrary Unicode: offsets in order and inside the text, round trips.

The char tokenizer round-trips texts made of characters it saw in training (any other
character becomes ``<unk>``, by design); byte-level BPE round-trips every text, lone
surrogates first replaced by U+FFFD (the encoding says so).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from explorer.tokenize import KINDS, train_tokenizer

CORPUS = [
    "the old wizard sees a red apple in the garden .",
    "Zürich café 漢字 שלום 🎉 tabs\tand\nnew lines",
] * 10
TOKS = {kind: train_tokenizer(kind, CORPUS, vocab_size=300) for kind in KINDS}
ANY_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=()),  # surrogates and controls included
    max_size=40,
)
MIXED = st.lists(st.sampled_from(["the", " ", "  ", "\n", "é", "e\u0301", "👩‍👧", "\x00",
                                  "\ud800", "漢", "ש", "<mask>", "\t", "ab"]), max_size=12)


def _check_spans(text: str, offsets: list[tuple[int, int]]) -> None:
    last_end = 0
    for s, e in offsets:
        assert 0 <= s <= e <= len(text)
        assert s >= last_end  # in order, never overlapping
        last_end = e


@settings(max_examples=30, deadline=None)
@given(st.one_of(ANY_TEXT, MIXED.map("".join)))
def test_offsets_in_order_inside_the_text_for_every_kind(text):
    for kind, tok in TOKS.items():
        enc = tok.encode(text)
        assert len(enc.text) == len(text)
        assert len(enc.ids) == len(enc.tokens) == len(enc.offsets)
        _check_spans(enc.text, enc.offsets)
        if kind in ("char", "bpe"):  # nothing dropped: the spans tile the text
            assert "".join(enc.text[s:e] for s, e in enc.offsets) == enc.text


@settings(max_examples=30, deadline=None)
@given(st.one_of(ANY_TEXT, MIXED.map("".join)))
def test_byte_level_bpe_round_trips_every_text(text):
    tok = TOKS["bpe"]
    enc = tok.encode(text)
    assert tok.decode(enc.ids, skip_special=False) == enc.text
    assert enc.replaced_surrogates == any(0xD800 <= ord(c) <= 0xDFFF for c in text)


SEEN = sorted({c for line in CORPUS for c in line})


@settings(max_examples=30, deadline=None)
@given(st.text(alphabet=st.sampled_from(SEEN), max_size=40))
def test_char_round_trips_over_its_vocabulary(text):
    tok = TOKS["char"]
    assert tok.decode(tok.encode(text).ids) == text
