"""Long texts are encoded in pieces cut before single spaces: the same as one encode."""

from __future__ import annotations

import pytest

from explorer.tokenize import KINDS, train_tokenizer
from explorer.tokenize.offsets import PARALLEL_CHARS, split_points, splittable, well_formed

CORPUS = ["the old wizard sees a red apple .", "two small dogs chase the cat ."] * 20
LONG = ("the old wizard  sees a red apple .\ntwo dogs 🎉 chase é the cat ,\t" * 4000)[
    : PARALLEL_CHARS + 5000
]


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "char"])
def test_pieces_give_the_same_tokens_as_one_encode(kind):
    tok = train_tokenizer(kind, CORPUS, vocab_size=150)
    assert tok._splittable()
    enc = tok.encode(LONG)
    ref = tok.hf.encode(LONG, add_special_tokens=False)
    assert enc.ids == list(ref.ids)
    assert enc.offsets == well_formed(LONG, list(ref.tokens), [tuple(o) for o in ref.offsets])


def test_split_points_cut_before_single_spaces():
    starts = split_points(LONG, piece=1000)
    assert starts[0] == 0 and len(starts) > 100
    for s in starts[1:]:
        assert LONG[s] == " " and LONG[s - 1] != " " and LONG[s + 1] != " "


def test_unknown_pre_tokenizers_are_not_split():
    assert not splittable({"pre_tokenizer": {"type": "SomethingNew"}})
    assert not splittable({"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "a b"}}})
    assert splittable({"normalizer": None, "pre_tokenizer": {"type": "Whitespace"}})


def test_well_formed_clips_and_orders():
    text = "ab"
    spans = well_formed(text, ["x", "y", "z"], [(0, 2), (0, 2), (5, 9)])
    assert spans == [(0, 2), (2, 2), (2, 2)]
