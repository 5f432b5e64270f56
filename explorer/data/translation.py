"""A toy translation task for the encoder-decoder: SVO English-like -> SOV made-up language.

The source is a tiny English-like grammar (at most 10 words, 37 word types):

    the big cat sees a dog in the garden

The target language has its own words, a one-to-one dictionary, and a
different word order, so the decoder's cross-attention has to *reorder*:

- the verb moves to the end of the sentence (subject object verb);
- inside a noun phrase the order is reversed: noun, adjective, determiner;
- prepositions become postpositions after their noun phrase.

Each target word comes from exactly one source word (``alignment`` says which),
so the ideal cross-attention pattern is a permutation one can draw beside the
learned one. The made-up words are built from syllables by a seeded RNG.
"""

from __future__ import annotations

import random

DETERMINERS = ["the", "a"]
CHARACTERS = ["cat", "dog", "king", "queen", "girl", "boy", "bird", "wizard"]
NOUNS = CHARACTERS + ["book", "ball", "cup", "hat"]
PLACES = ["garden", "forest", "river", "house"]
ADJECTIVES = ["big", "small", "red", "green", "tall", "happy"]
TRANSITIVE = ["sees", "likes", "finds", "takes", "helps", "wants"]
INTRANSITIVE = ["sleeps", "runs", "sings", "waits"]
PREPOSITIONS = ["in", "near", "behind"]
SOURCE_VOCABULARY = (DETERMINERS + NOUNS + PLACES + ADJECTIVES + TRANSITIVE + INTRANSITIVE
                     + PREPOSITIONS)

_CONSONANTS = "bdfgklmnprstvz"
_VOWELS = "aiou"


def _made_up_words(n: int, seed: int) -> list[str]:
    """``n`` distinct invented words of two syllables (CV-CV), from a seeded RNG."""
    rng = random.Random(seed)
    words: list[str] = []
    while len(words) < n:
        w = "".join(rng.choice(_CONSONANTS) + rng.choice(_VOWELS) for _ in range(2))
        if w not in words:
            words.append(w)
    return words


DICTIONARY: dict[str, str] = dict(zip(SOURCE_VOCABULARY, _made_up_words(len(SOURCE_VOCABULARY),
                                                                        seed=4)))
TARGET_VOCABULARY = [DICTIONARY[w] for w in SOURCE_VOCABULARY]


def _noun_phrase(rng: random.Random, nouns: list[str], p_adjective: float) -> list[str]:
    det = rng.choice(DETERMINERS)
    adj = [rng.choice(ADJECTIVES)] if rng.random() < p_adjective else []
    return [det, *adj, rng.choice(nouns)]


def sample_source(rng: random.Random) -> str:
    """One source sentence: character verb [object] [preposition place]."""
    words = _noun_phrase(rng, CHARACTERS, 0.4)
    if rng.random() < 0.65:
        words += [rng.choice(TRANSITIVE), *_noun_phrase(rng, NOUNS, 0.4)]
    else:
        words.append(rng.choice(INTRANSITIVE))
    if rng.random() < 0.5:
        words += [rng.choice(PREPOSITIONS), *_noun_phrase(rng, PLACES, 0.0)]
    return " ".join(words)


def _split_phrases(tokens: list[str]) -> tuple[list[int], list[int], list[int], list[int], int]:
    """Source positions of (subject, verb, object, place phrase, preposition)."""
    verb: list[int] = []
    obj: list[int] = []
    place: list[int] = []
    prep = -1

    def noun_phrase(start: int, nouns: list[str]) -> list[int]:
        j = start
        if j >= len(tokens) or tokens[j] not in DETERMINERS:
            raise ValueError(f"expected a determiner at word {j + 1} of {' '.join(tokens)!r}")
        j += 1
        if j < len(tokens) and tokens[j] in ADJECTIVES:
            j += 1
        if j >= len(tokens) or tokens[j] not in nouns:
            raise ValueError(f"expected a noun at word {j + 1} of {' '.join(tokens)!r}")
        return list(range(start, j + 1))

    subject = noun_phrase(0, CHARACTERS)
    i = len(subject)
    if i < len(tokens) and tokens[i] in TRANSITIVE:
        verb = [i]
        obj = noun_phrase(i + 1, NOUNS)
        i = obj[-1] + 1
    elif i < len(tokens) and tokens[i] in INTRANSITIVE:
        verb = [i]
        i += 1
    else:
        raise ValueError(f"expected a verb at word {i + 1} of {' '.join(tokens)!r}")
    if i < len(tokens):
        if tokens[i] not in PREPOSITIONS:
            raise ValueError(f"expected a preposition at word {i + 1} of {' '.join(tokens)!r}")
        prep = i
        place = noun_phrase(i + 1, PLACES)
        i = place[-1] + 1
    if i != len(tokens):
        raise ValueError(f"unexpected words after word {i} of {' '.join(tokens)!r}")
    return subject, verb, obj, place, prep


def alignment(source: str) -> list[int]:
    """For each target position, the source position its word translates.

    Target order: subject (reversed), object (reversed), place (reversed),
    postposition, verb.
    """
    subj, verb, obj, place, prep = _split_phrases(source.split())
    return subj[::-1] + obj[::-1] + place[::-1] + ([prep] if prep >= 0 else []) + verb


def translate(source: str) -> str:
    """The target sentence for ``source`` (raises ``ValueError`` outside the grammar)."""
    tokens = source.split()
    return " ".join(DICTIONARY[tokens[i]] for i in alignment(source))


def sample_pairs(n: int, seed: int, exclude: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """``n`` distinct ``(source, target)`` pairs whose sources are not in ``exclude``."""
    rng = random.Random(seed)
    seen: set[str] = set(exclude)
    pairs: list[tuple[str, str]] = []
    while len(pairs) < n:
        source = sample_source(rng)
        if source not in seen:
            seen.add(source)
            pairs.append((source, translate(source)))
    return pairs
