"""The one way a token is shown: ``explorer.tokenize.token_label`` and its forms."""

from __future__ import annotations

import pytest

from explorer.state.inputs import encode_text
from explorer.tokenize import (
    token_label,
    token_labels,
    train_tokenizer,
    visible,
    vocabulary_labels,
)

CORPUS = ["the cat sat on the mat .\nthe dog ran to the park .\tit was happy ."] * 30


@pytest.fixture(scope="module")
def bpe():
    """A tiny byte-level BPE (GPT-2's kind: a space is written Ġ)."""
    return train_tokenizer("bpe", CORPUS, vocab_size=300)


def test_a_byte_level_token_reads_as_its_text_with_the_space_made_visible(bpe):
    cat = bpe.token_to_id("Ġcat")
    assert cat is not None
    assert token_label(bpe, cat) == "␣cat"
    newline = bpe.encode("\n").ids[0]
    assert token_label(bpe, newline) == "⏎"
    assert token_labels(bpe, [cat, newline]) == ["␣cat", "⏎"]
    assert vocabulary_labels(bpe, bpe.vocab_size)[cat] == "␣cat"


def test_special_tokens_show_their_role_and_unknown_ids_their_number(bpe):
    assert token_label(bpe, bpe.special_ids["eos"]) == "⟨eos⟩"
    assert token_label(bpe, bpe.vocab_size + 5) == f"#{bpe.vocab_size + 5}"
    assert token_label(None, 42) == "#42"
    assert vocabulary_labels(None, 3) == ("#0", "#1", "#2")


def test_one_id_with_two_roles_is_shown_as_spelled():
    class Shared:  # GPT-2: <|endoftext|> is both bos and eos
        special_ids = {"bos": 0, "eos": 0}

        def id_to_token(self, i):
            return ["<|endoftext|>", "a"][i]

    assert token_labels(Shared(), [0, 1]) == ["<|endoftext|>", "a"]


def test_whitespace_is_made_visible_one_way():
    assert visible(" a\nb\tc\r") == "␣a⏎b⇥c␍"
    assert visible("") == "∅"


def test_the_model_input_labels_are_the_same_labels(bpe):
    enc = encode_text(bpe, "the cat sat", "decoder", 64)
    chunk = enc.chunks[0]
    assert list(chunk.labels) == token_labels(bpe, chunk.ids)
    assert chunk.labels[0] == "⟨bos⟩" and "␣cat" in chunk.labels
