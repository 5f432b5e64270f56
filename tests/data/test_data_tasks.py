"""Translation, sentiment, induction and masked sets: their rules and their balance."""

from __future__ import annotations

import random

import pytest
import torch

from explorer.data import (
    alignment,
    induction_ids,
    is_grammatical,
    load_labelled,
    load_lines,
    load_pairs,
    repeat_start,
    sentiment_label,
    translate,
)
from explorer.data import translation as tr
from explorer.data.induction import LINE_LENGTH, REACH, repeated_segment_ids
from explorer.data.sentiment import LABEL_NAMES, sample_labelled


def test_translation_targets_follow_the_rule():
    pairs = load_pairs("translation", "train")
    assert len(pairs) == 6000
    for source, target in pairs:
        assert target == translate(source)
        src, tgt = source.split(), target.split()
        assert len(src) == len(tgt) <= 10
        assert [tr.DICTIONARY[src[i]] for i in alignment(source)] == tgt


def test_translation_reorders_subject_object_verb():
    source = "the big cat sees a dog in the garden"
    # cat big the | dog a | garden the in | sees
    assert alignment(source) == [2, 1, 0, 5, 4, 8, 7, 6, 3]
    assert translate(source).split()[-1] == tr.DICTIONARY["sees"]
    with pytest.raises(ValueError, match="expected a verb"):
        translate("the cat the dog")


def test_translation_vocabularies_are_small_and_the_dictionary_one_to_one():
    assert len(tr.SOURCE_VOCABULARY) <= 60 and len(set(tr.TARGET_VOCABULARY)) == len(
        tr.SOURCE_VOCABULARY)
    assert not set(tr.SOURCE_VOCABULARY) & set(tr.TARGET_VOCABULARY)


def test_held_out_splits_share_no_example_with_training():
    train = {s for s, _ in load_pairs("translation", "train")}
    for split in ("valid", "test"):
        assert not train & {s for s, _ in load_pairs("translation", split)}
    texts, _, _ = load_labelled("sentiment", "train")
    assert not set(texts) & set(load_labelled("sentiment", "test")[0])


@pytest.mark.parametrize("split", ["train", "valid", "test"])
def test_sentiment_labels_are_balanced_and_follow_the_rule(split):
    texts, labels, names = load_labelled("sentiment", split)
    assert names == LABEL_NAMES
    assert labels.count(0) == labels.count(1) == len(texts) // 2
    assert all(sentiment_label(t) == names[y] for t, y in zip(texts, labels))


def test_negation_flips_the_sentiment_so_words_alone_do_not_decide():
    texts, labels, _ = load_labelled("sentiment", "train")
    negated = [y for t, y in zip(texts, labels) if "not" in t.split()]
    assert 0.3 < sum(negated) / len(negated) < 0.7  # "not" alone says nothing
    assert sentiment_label("anna is not glad .") == "negative"
    assert sentiment_label("the kings do not hate the cake .") == "positive"
    rows = sample_labelled(10, seed=3)
    assert rows == sample_labelled(10, seed=3)


def _repeated_share(ids: list[int], reach: int, shortest: int) -> float:
    """The share of positions t that continue a copy: ids[t - 3 : t + 1] occurred earlier,
    at most ``reach`` back."""
    hits = 0
    for t in range(shortest, len(ids)):
        piece = ids[t - shortest + 1: t + 1]
        hits += any(ids[s - shortest + 1: s + 1] == piece
                    for s in range(max(shortest - 1, t - reach - shortest), t))
    return hits / len(ids)


def test_induction_lines_repeat_segments_at_varying_distances():
    lines = load_lines("induction", "valid")
    assert len(lines) == 500
    assert all(len(line) == LINE_LENGTH and line.isalpha() and line.islower()
               for line in lines)
    # the nearest earlier copy of a 4-letter piece lies at many different distances
    distances = set()
    for line in lines[:100]:
        for t in range(40, len(line) - 4):
            back = line.rfind(line[t:t + 4], 0, t + 3)
            if back >= 0:
                distances.add(t - back)
    assert len(distances) >= 20  # no fixed offset finds the copy


def test_repeated_segment_ids_range_seed_and_repeats():
    ids = repeated_segment_ids(random.Random(0), 500, 30, low=3, p_repeat=0.75)
    assert len(ids) == 500 and min(ids) >= 3 and max(ids) < 30
    assert ids == repeated_segment_ids(random.Random(0), 500, 30, low=3, p_repeat=0.75)
    assert _repeated_share(ids, REACH, 4) > 0.5
    fresh = repeated_segment_ids(random.Random(0), 500, 30, p_repeat=0.0)
    assert _repeated_share(fresh, REACH, 4) < 0.1
    with pytest.raises(ValueError):
        repeated_segment_ids(random.Random(0), 10, 5, segment=(5, 4))


def test_induction_ids_shape_range_copy_and_seed():
    x = induction_ids(8, 21, vocab_size=30, seed=0, low=3)
    assert x.shape == (8, 21) and x.dtype == torch.int64
    assert int(x.min()) >= 3 and int(x.max()) < 30
    start = repeat_start(21)
    assert torch.equal(x[:, start:], x[:, : 21 - start])
    assert torch.equal(x, induction_ids(8, 21, vocab_size=30, seed=0, low=3))
    g = torch.Generator().manual_seed(1)
    assert not torch.equal(induction_ids(4, 10, 50, generator=g),
                           induction_ids(4, 10, 50, generator=g))
    with pytest.raises(ValueError):
        induction_ids(1, 10, vocab_size=5, low=5)


def test_masked_set_restores_held_out_grammar_sentences():
    rows = load_pairs("masked", "test")
    sentences = load_lines("grammar", "test")
    assert len(rows) == len(sentences)
    for (masked, answer), sentence in zip(rows, sentences):
        assert masked.split().count("[MASK]") == 1
        assert masked.replace("[MASK]", answer) == sentence
    assert all(is_grammatical(s) for s in random.Random(0).sample(sentences, 100))
