"""A tiny seeded sentence generator: sample text to train and time tokenizers on.

Nothing here is text written by someone else: words are built from syllables by a
seeded random generator, and their frequencies follow Zipf's law (rank r has weight
1/r) as in a natural language, so BPE finds frequent merges while rare words still
split into pieces. The same seed always gives the same text.
"""

from __future__ import annotations

import random
from functools import lru_cache
from itertools import accumulate

ONSETS = ("", "b", "br", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "st", "t", "th", "v")
NUCLEI = ("a", "e", "i", "o", "u", "ai", "ou", "ee")
CODAS = ("", "", "", "n", "r", "s", "t", "l", "nd", "ng")
FUNCTION_WORDS = ("the", "a", "of", "and", "to", "in", "is", "that", "it", "with", "on", "by")
ENDINGS = (".", ".", ".", ".", "?", "!")


@lru_cache(maxsize=4)
def make_lexicon(size: int, seed: int = 0) -> tuple[str, ...]:
    """``size`` distinct made-up words of one to four syllables, most common first."""
    rng = random.Random(seed)
    words: list[str] = []
    seen = set(FUNCTION_WORDS)
    while len(words) < size:
        n = rng.choices((1, 2, 3, 4), weights=(4, 5, 3, 1))[0]
        word = "".join(
            rng.choice(ONSETS) + rng.choice(NUCLEI) + rng.choice(CODAS) for _ in range(n)
        )
        if word not in seen:
            seen.add(word)
            words.append(word)
    return tuple(words)


@lru_cache(maxsize=4)
def _population(lexicon_size: int) -> tuple[tuple[str, ...], list[float]]:
    """Made-up words with Zipf weights, plus function words taking 40% of all words."""
    lexicon = make_lexicon(lexicon_size, seed=12345)  # one vocabulary for every seed
    weights = [1.0 / r for r in range(1, len(lexicon) + 1)]
    share = 0.4 * sum(weights) / 0.6 / len(FUNCTION_WORDS)
    cum = list(accumulate([*weights, *([share] * len(FUNCTION_WORDS))]))
    return (*lexicon, *FUNCTION_WORDS), cum


def generate_sentences(n: int, seed: int = 0, lexicon_size: int = 3000) -> list[str]:
    """``n`` sentences: a capital letter, 3 to 14 words, commas, a few numbers, an ending."""
    if n < 0:
        raise ValueError(f"the number of sentences must be at least 0, not {n}")
    population, cum = _population(lexicon_size)
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        length = rng.randint(3, 14)
        words = rng.choices(population, cum_weights=cum, k=length)
        if rng.random() < 0.08:
            words[rng.randrange(length)] = str(rng.randint(2, 2000))
        if length > 6 and rng.random() < 0.4:
            k = rng.randrange(2, length - 2)
            words[k] += ","
        words[0] = words[0].capitalize()
        out.append(" ".join(words) + rng.choice(ENDINGS))
    return out


def generate_text(n_chars: int, seed: int = 0) -> list[str]:
    """Lines of generated sentences, about ``n_chars`` characters in all (newlines counted)."""
    lines: list[str] = []
    size, batch = 0, 0
    while size < n_chars:
        for line in generate_sentences(200, seed=seed * 1_000_003 + batch):
            lines.append(line)
            size += len(line) + 1
            if size >= n_chars:
                break
        batch += 1
    return lines
