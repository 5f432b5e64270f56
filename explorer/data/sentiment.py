"""A two-class sentiment task for the encoder classifier, P(c|x).

Each sentence has exactly one word that carries a mood (``loves``/``hates``,
``happy``/``sad``, ``wonderful``/``awful``), and may be negated with ``not``
(``does not``, ``do not``, ``is not``, ``are not``). The label is the word's
polarity, flipped by the negation: an exclusive or, which no weighted bag of
words can fit, so the model has to relate the two words; everything else
(subjects, objects, adjectives, places) is neutral filler.

    positive    the tall knights do not hate the red box .
    negative    anna is not glad in the garden .

The classes are exactly balanced in every split.
"""

from __future__ import annotations

import random

LABEL_NAMES = ["negative", "positive"]

NAMES = ["anna", "tom", "lily", "max"]
CHARACTERS = [("king", "kings"), ("queen", "queens"), ("girl", "girls"), ("boy", "boys"),
              ("farmer", "farmers"), ("knight", "knights"), ("wizard", "wizards")]
THINGS = [("book", "books"), ("song", "songs"), ("box", "boxes"), ("cake", "cakes"),
          ("film", "films"), ("hat", "hats")]
PEOPLE_ADJECTIVES = ["young", "tall", "little", "quiet"]
THING_ADJECTIVES = ["red", "green", "little", "small"]
PLACES = ["garden", "forest", "village", "market"]
# polarity -> (third person singular, base form)
VERBS = {
    "positive": [("loves", "love"), ("likes", "like"), ("enjoys", "enjoy"),
                 ("admires", "admire")],
    "negative": [("hates", "hate"), ("dislikes", "dislike"), ("fears", "fear"),
                 ("dreads", "dread")],
}
MOODS = {"positive": ["happy", "glad", "cheerful", "proud"],
         "negative": ["sad", "angry", "upset", "lonely"]}
QUALITIES = {"positive": ["wonderful", "lovely", "great", "beautiful"],
             "negative": ["awful", "terrible", "boring", "ugly"]}

POLARITY: dict[str, str] = {
    word: polarity
    for polarity in LABEL_NAMES
    for word in [*(w for pair in VERBS[polarity] for w in pair), *MOODS[polarity],
                 *QUALITIES[polarity]]
}


def _noun_phrase(rng: random.Random, nouns: list[tuple[str, str]], plural: bool) -> list[str]:
    det = rng.choice(["the", "some"] if plural else ["the", "a"])
    adjectives = PEOPLE_ADJECTIVES if nouns is CHARACTERS else THING_ADJECTIVES
    adj = [rng.choice(adjectives)] if rng.random() < 0.4 else []
    return [det, *adj, nouns[rng.randrange(len(nouns))][int(plural)]]


def _subject(rng: random.Random) -> tuple[list[str], bool]:
    if rng.random() < 0.2:
        return [rng.choice(NAMES)], False
    plural = rng.random() < 0.4
    return _noun_phrase(rng, CHARACTERS, plural), plural


def sample_sentence(rng: random.Random, label: str) -> str:
    """One sentence whose sentiment is ``label`` (``"negative"`` or ``"positive"``)."""
    negated = rng.random() < 0.5
    polarity = LABEL_NAMES[(LABEL_NAMES.index(label) + int(negated)) % 2]
    form = rng.randrange(3)
    if form == 0:  # someone loves / does not love something
        words, plural = _subject(rng)
        singular_form, base = rng.choice(VERBS[polarity])
        if negated:
            words += ["do" if plural else "does", "not", base]
        else:
            words.append(base if plural else singular_form)
        words += _noun_phrase(rng, THINGS, rng.random() < 0.3)
    else:  # someone is (not) glad; something is (not) wonderful
        if form == 1:
            words, plural = _subject(rng)
        else:
            plural = rng.random() < 0.3
            words = _noun_phrase(rng, THINGS, plural)
        words.append("are" if plural else "is")
        if negated:
            words.append("not")
        words.append(rng.choice((MOODS if form == 1 else QUALITIES)[polarity]))
    if rng.random() < 0.3:
        words += [rng.choice(["in", "near"]), "the", rng.choice(PLACES)]
    return " ".join([*words, "."])


def sentiment_label(text: str) -> str:
    """The rule the labels follow: the polarity of the mood word, flipped by ``not``."""
    words = text.split()
    moods = [POLARITY[w] for w in words if w in POLARITY]
    if len(moods) != 1:
        raise ValueError(f"expected exactly one mood word in {text!r}, found {len(moods)}")
    flip = int("not" in words)
    return LABEL_NAMES[(LABEL_NAMES.index(moods[0]) + flip) % 2]


def sample_labelled(n: int, seed: int, exclude: frozenset[str] = frozenset()
                    ) -> list[tuple[str, str]]:
    """``n`` distinct ``(label, text)`` examples, half of each class, none in ``exclude``."""
    rng = random.Random(seed)
    seen: set[str] = set(exclude)
    rows: list[tuple[str, str]] = []
    while len(rows) < n:
        label = LABEL_NAMES[len(rows) % 2]
        text = sample_sentence(rng, label)
        if text not in seen:
            seen.add(text)
            rows.append((label, text))
    rng.shuffle(rows)
    return rows
