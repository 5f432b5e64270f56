"""The grammar corpus: determinism, unambiguity, exact entropy, the recogniser."""

from __future__ import annotations

import math
import random

import pytest

from explorer.data import (
    entropy_per_token,
    grammar_entropy,
    is_grammatical,
    monte_carlo_entropy,
    sample_derivations,
    sample_sentences,
    sentence_log_prob,
)
from explorer.data.grammar import GRAMMAR, parse_count
from explorer.data.pcfg import PCFG


def test_same_seed_same_sentences_other_seed_others():
    assert sample_sentences(200, seed=5) == sample_sentences(200, seed=5)
    assert sample_sentences(200, seed=5) != sample_sentences(200, seed=6)


def test_sentences_are_lowercase_tokens_ending_in_a_full_stop():
    for s in sample_sentences(300, seed=1):
        assert s == s.lower() and s.endswith(" .") and "  " not in s
        assert s.count(".") == 1 and "\t" not in s and "\n" not in s


def test_a_is_never_followed_by_a_vowel():
    for s in sample_sentences(2000, seed=2):
        words = s.split()
        assert all(b[0] not in "aeiou" for a, b in zip(words, words[1:]) if a == "a")


def test_every_sample_has_one_parse_with_the_tracked_probability():
    for d in sample_derivations(300, seed=3):
        count, prob = GRAMMAR.parse(d.tokens)
        assert count == 1, d.text
        assert math.log(prob) == pytest.approx(d.log_prob, abs=1e-9)
        assert sentence_log_prob(d.text) == pytest.approx(d.log_prob, abs=1e-9)


def test_agreement_is_enforced():
    assert is_grammatical("the cat sleeps .")
    assert is_grammatical("the cats sleep .")
    assert not is_grammatical("the cat sleep .")
    assert not is_grammatical("the cats sleeps .")
    assert is_grammatical("the dogs do not sing in the garden .")
    assert not is_grammatical("the dogs does not sing in the garden .")
    assert is_grammatical("the king who sees the dogs laughs .")
    assert not is_grammatical("the king who sees the dogs laugh .")


def test_recogniser_rejects_shuffled_and_broken_sentences():
    rng = random.Random(0)
    rejected = total = 0
    for s in sample_sentences(200, seed=4):
        words = s.split()
        if len(set(words)) < 4:
            continue
        shuffled = words[:]
        while shuffled == words:
            rng.shuffle(shuffled)
        total += 1
        rejected += not is_grammatical(" ".join(shuffled))
    assert rejected / total > 0.97
    assert not is_grammatical("")
    assert not is_grammatical("the cat sleeps")  # no full stop
    assert not is_grammatical("the unicorn sleeps .")
    assert is_grammatical("  the cat   sleeps .\n")  # whitespace is only a separator


def test_entropy_is_the_mean_surprisal_of_samples():
    h = grammar_entropy()
    derivations = sample_derivations(20000, seed=11)
    surprisals = [-d.log_prob for d in derivations]
    mean = sum(surprisals) / len(surprisals)
    sd = math.sqrt(sum((x - mean) ** 2 for x in surprisals) / (len(surprisals) - 1))
    assert abs(mean - h.nats_per_sentence) < 4 * sd / math.sqrt(len(surprisals))
    assert monte_carlo_entropy(2000, seed=1) == pytest.approx(h.nats_per_sentence, rel=0.03)
    chars = sum(len(d.text) + 1 for d in derivations) / len(derivations)
    words = sum(len(d.tokens) for d in derivations) / len(derivations)
    assert chars == pytest.approx(h.chars_per_sentence, rel=0.01)
    assert words == pytest.approx(h.words_per_sentence, rel=0.01)


def test_entropy_rates_and_units():
    h = grammar_entropy()
    assert h.nats_per_char == pytest.approx(h.nats_per_sentence / h.chars_per_sentence)
    assert h.bits_per_word == pytest.approx(h.nats_per_word / math.log(2))
    assert entropy_per_token("char") == h.nats_per_char
    assert entropy_per_token("word") == h.nats_per_word
    assert 0.2 < h.nats_per_char < 1.0 and 1.0 < h.nats_per_word < 4.0
    with pytest.raises(ValueError, match="unknown unit"):
        entropy_per_token("byte")


def test_readme_reports_the_exact_entropy():
    from explorer.data.registry import data_root

    readme = (data_root() / "README.md").read_text(encoding="utf-8")
    h = grammar_entropy()
    for value in (h.nats_per_sentence, h.nats_per_char, h.bits_per_char, h.nats_per_word,
                  h.bits_per_word, h.nats_per_word_with_eos, h.chars_per_sentence):
        assert f"{value:.4f}" in readme


def _small_grammar() -> PCFG:
    """A sub-grammar with the same attachment rules, small enough to enumerate."""
    rules = {
        "S": [(0.8, ("Main", ".")), (0.2, ("Main", "Sub", "."))],
        "Sub": [(1.0, ("because", "Clause0"))],
        "Main": [(0.7, ("Subj", "VP0")), (0.3, ("Subj", "thinks", "that", "Clause0"))],
        "Clause0": [(1.0, ("Subj", "VP0"))],
        "Subj": [(0.6, ("Det", "N")), (0.4, ("Det", "N", "who", "Core"))],
        "Det": [(1.0, ("the",))],
        "N": [(0.5, ("cat",)), (0.5, ("dog",))],
        "Core": [(0.5, ("sleeps",)), (0.5, ("sees", "Det", "N"))],
        "VP0": [(0.6, ("Core",)), (0.4, ("Core", "in", "the", "garden"))],
    }
    return PCFG(rules, start="S")


def test_small_grammar_enumeration_is_unambiguous_and_matches_the_exact_entropy():
    g = _small_grammar()
    derivations = g.derivations()
    strings: dict[tuple[str, ...], float] = {}
    for d in derivations:
        assert d.tokens not in strings, f"two derivations of {' '.join(d.tokens)!r}"
        strings[d.tokens] = math.exp(d.log_prob)
    assert sum(strings.values()) == pytest.approx(1.0, abs=1e-9)
    exact = -sum(p * math.log(p) for p in strings.values())
    assert g.entropy() == pytest.approx(exact, rel=1e-9)
    assert g.expected(lambda w: 1.0) == pytest.approx(
        sum(p * len(t) for t, p in strings.items()), rel=1e-9)
    for tokens, p in list(strings.items())[:: max(1, len(strings) // 200)]:
        assert g.parse(tokens) == (1, pytest.approx(p, rel=1e-9))


def test_an_ambiguous_grammar_is_detected_by_the_parser():
    rules = {"S": [(0.5, ("A", "x")), (0.5, ("x", "B"))], "A": [(1.0, ("x",))],
             "B": [(1.0, ("x",))]}
    count, prob = PCFG(rules, "S").parse(["x", "x"])
    assert count == 2 and prob == pytest.approx(1.0)
    assert parse_count("the cat sleeps .") == 1


def test_bad_grammars_are_refused():
    with pytest.raises(ValueError, match="sum to"):
        PCFG({"S": [(0.5, ("x",))]}, "S")
    with pytest.raises(ValueError, match="recursive"):
        PCFG({"S": [(0.5, ("x",)), (0.5, ("S", "x"))]}, "S")
