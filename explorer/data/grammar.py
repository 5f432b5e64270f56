"""The bundled English-like corpus: a small unambiguous PCFG with known entropy.

Sentences are about a handful of characters (a wizard, a queen, a dog, ...),
objects (a book, a red box, ...) and places (the garden, a dark forest, ...),
with subject-verb agreement (``the cat sleeps`` / ``the cats sleep``),
determiners, adjectives, prepositional phrases, negation (``does not`` /
``do not``), subject relative clauses (``the king who sees the dog``), ``that``
complements and ``because``/``while``/``when`` clauses. Words are lowercase and
the final ``.`` is a separate token, so characters, words and subwords all work.

The grammar is unambiguous by construction, so the probability of a string is
the probability of its one derivation, and the exact entropy of the sentence
distribution is the derivation entropy (``PCFG.entropy``):

- prepositional phrases attach only at the end of a verb phrase, and only to
  a verb phrase that has no clause inside it (relative clauses have no PP, and
  a ``that`` complement has no PP of its own);
- relative clauses attach only to subjects, never to objects;
- subordinate clauses attach only to the whole sentence, and an embedded
  clause has neither a ``that`` complement nor a subordinate clause;
- the word classes are disjoint (a noun is a character, an object or a place),
  and every word after ``a`` begins with a consonant, so no ``an`` is needed.

``tests/data`` checks it: every sampled sentence has exactly one parse whose
probability equals the probability tracked while sampling.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from explorer.data.pcfg import PCFG, Derivation

NAMES = ["anna", "tom", "lily", "max"]
CHARACTERS = [
    ("wizard", "wizards"), ("king", "kings"), ("queen", "queens"), ("girl", "girls"),
    ("boy", "boys"), ("dog", "dogs"), ("cat", "cats"), ("farmer", "farmers"),
    ("knight", "knights"), ("witch", "witches"),
]
OBJECTS = [
    ("pear", "pears"), ("book", "books"), ("ball", "balls"), ("key", "keys"), ("cup", "cups"),
    ("sword", "swords"), ("box", "boxes"), ("hat", "hats"), ("letter", "letters"),
    ("flower", "flowers"),
]
PLACES = ["garden", "forest", "castle", "kitchen", "river", "village", "market", "tower"]
CHARACTER_ADJECTIVES = ["young", "clever", "brave", "happy", "sad", "little", "tall", "wise"]
SIZE_ADJECTIVES = ["small", "big", "heavy", "broken", "shiny"]
COLOURS = ["red", "green", "blue", "black", "white"]
PLACE_ADJECTIVES = ["dark", "quiet", "big", "little"]
PREPOSITIONS = ["in", "near", "behind"]
CONJUNCTIONS = ["because", "while", "when"]
# (third person singular, plural = base form)
INTRANSITIVE = [
    ("sleeps", "sleep"), ("sings", "sing"), ("waits", "wait"), ("laughs", "laugh"),
    ("dances", "dance"), ("cries", "cry"),
]
TRANSITIVE_CHARACTER = [
    ("sees", "see"), ("helps", "help"), ("follows", "follow"), ("likes", "like"),
    ("calls", "call"),
]
TRANSITIVE_OBJECT = [
    ("finds", "find"), ("carries", "carry"), ("wants", "want"), ("holds", "hold"),
    ("drops", "drop"), ("paints", "paint"),
]
DITRANSITIVE = [("gives", "give"), ("shows", "show"), ("sends", "send")]
SENTENTIAL = [("thinks", "think"), ("says", "say"), ("knows", "know")]

SEED = 20220719  # the paper's arXiv month, a fixed seed for every bundled split


def _uniform(words: list[str]) -> list[tuple[float, tuple[str, ...]]]:
    return [(1.0 / len(words), (w,)) for w in words]


def build_rules() -> dict[str, list[tuple[float, tuple[str, ...]]]]:
    """The rule table: nonterminal -> [(probability, right-hand side)]."""
    r: dict[str, list[tuple[float, tuple[str, ...]]]] = {
        "S": [(0.8, ("Main", ".")), (0.2, ("Main", "Sub", "."))],
        "Sub": [(1.0, ("Conj", "Clause0"))],
        "Conj": _uniform(CONJUNCTIONS),
        "Main": [(0.6, ("Subj_sg", "VP1_sg")), (0.4, ("Subj_pl", "VP1_pl"))],
        "Clause0": [(0.6, ("Subj_sg", "VP0_sg")), (0.4, ("Subj_pl", "VP0_pl"))],
        "Subj_sg": [(0.2, ("Name",)), (0.65, ("CharNP_sg",)), (0.15, ("CharNP_sg", "Rel_sg"))],
        "Subj_pl": [(0.85, ("CharNP_pl",)), (0.15, ("CharNP_pl", "Rel_pl"))],
        "Name": _uniform(NAMES),
        "Det_sg": [(0.65, ("the",)), (0.25, ("a",)), (0.1, ("every",))],
        "Det_pl": [(0.6, ("the",)), (0.25, ("some",)), (0.15, ("many",))],
        "CharAdj": _uniform(CHARACTER_ADJECTIVES),
        "SizeAdj": _uniform(SIZE_ADJECTIVES),
        "Colour": _uniform(COLOURS),
        "CharObj": [(0.2, ("Name",)), (0.5, ("CharNP_sg",)), (0.3, ("CharNP_pl",))],
        "ObjNP": [(0.7, ("ObjNP_sg",)), (0.3, ("ObjNP_pl",))],
        "PP": [(1.0, ("Prep", "Place"))],
        "Prep": _uniform(PREPOSITIONS),
        "Place": [(0.6, ("the", "PlaceN")), (0.2, ("the", "PlaceAdj", "PlaceN")),
                  (0.15, ("a", "PlaceN")), (0.05, ("a", "PlaceAdj", "PlaceN"))],
        "PlaceN": _uniform(PLACES),
        "PlaceAdj": _uniform(PLACE_ADJECTIVES),
    }
    for i, num in enumerate(("sg", "pl")):
        r[f"CharN_{num}"] = _uniform([pair[i] for pair in CHARACTERS])
        r[f"ObjN_{num}"] = _uniform([pair[i] for pair in OBJECTS])
        r[f"CharNP_{num}"] = [(0.65, (f"Det_{num}", f"CharN_{num}")),
                              (0.35, (f"Det_{num}", "CharAdj", f"CharN_{num}"))]
        r[f"ObjNP_{num}"] = [(0.5, (f"Det_{num}", f"ObjN_{num}")),
                             (0.2, (f"Det_{num}", "SizeAdj", f"ObjN_{num}")),
                             (0.2, (f"Det_{num}", "Colour", f"ObjN_{num}")),
                             (0.1, (f"Det_{num}", "SizeAdj", "Colour", f"ObjN_{num}"))]
        for cls, verbs in (("Vi", INTRANSITIVE), ("Vtc", TRANSITIVE_CHARACTER),
                           ("Vto", TRANSITIVE_OBJECT), ("Vd", DITRANSITIVE),
                           ("Vs", SENTENTIAL)):
            r[f"{cls}_{num}"] = _uniform([pair[i] for pair in verbs])
        # The plural core doubles as the base form after "does not" / "do not".
        r[f"Core_{num}"] = [(0.3, (f"Vi_{num}",)), (0.25, (f"Vtc_{num}", "CharObj")),
                            (0.3, (f"Vto_{num}", "ObjNP")),
                            (0.15, (f"Vd_{num}", "CharObj", "ObjNP"))]
        aux = ("does", "not") if num == "sg" else ("do", "not")
        r[f"Pred_{num}"] = [(0.9, (f"Core_{num}",)), (0.1, (*aux, "Core_pl"))]
        r[f"Rel_{num}"] = [(1.0, ("who", f"Pred_{num}"))]
        r[f"VP0_{num}"] = [(0.65, (f"Pred_{num}",)), (0.35, (f"Pred_{num}", "PP"))]
        r[f"VP1_{num}"] = [(0.88, (f"VP0_{num}",)), (0.12, (f"Vs_{num}", "that", "Clause0"))]
    return r


GRAMMAR = PCFG(build_rules(), start="S")


@dataclass(frozen=True)
class GrammarEntropy:
    """Exact entropy of the grammar's sentence distribution and its per-unit rates.

    A line of the corpus is ``" ".join(tokens) + "\\n"``; a char-level model sees
    every character of it, newline included. A word-level model sees the tokens
    (words and the final ``.``), plus one end-of-line token if it has one.
    """

    nats_per_sentence: float
    chars_per_sentence: float  # expected characters per line, newline included
    words_per_sentence: float  # expected word tokens per sentence, the "." included

    @property
    def nats_per_char(self) -> float:
        """The loss (nats) a perfect char-level model reaches on the corpus."""
        return self.nats_per_sentence / self.chars_per_sentence

    @property
    def nats_per_word(self) -> float:
        """The loss (nats) a perfect word-level model reaches, tokens = words and ``.``."""
        return self.nats_per_sentence / self.words_per_sentence

    @property
    def nats_per_word_with_eos(self) -> float:
        """As ``nats_per_word`` when each line also ends with one end-of-line token."""
        return self.nats_per_sentence / (self.words_per_sentence + 1.0)

    @property
    def bits_per_sentence(self) -> float:
        return self.nats_per_sentence / math.log(2)

    @property
    def bits_per_char(self) -> float:
        return self.nats_per_char / math.log(2)

    @property
    def bits_per_word(self) -> float:
        return self.nats_per_word / math.log(2)


def grammar_entropy() -> GrammarEntropy:
    """Exact entropy of the bundled grammar, per sentence, per character, per word."""
    return GrammarEntropy(
        nats_per_sentence=GRAMMAR.entropy(),
        chars_per_sentence=GRAMMAR.expected(lambda w: len(w) + 1.0),
        words_per_sentence=GRAMMAR.expected(lambda w: 1.0),
    )


def entropy_per_token(unit: str = "char") -> float:
    """Exact entropy in nats per ``"char"``, ``"word"`` or ``"sentence"``."""
    h = grammar_entropy()
    rates = {"char": h.nats_per_char, "word": h.nats_per_word, "sentence": h.nats_per_sentence}
    if unit not in rates:
        raise ValueError(f"unknown unit {unit!r}: use one of {', '.join(rates)}")
    return rates[unit]


def sample_derivations(n: int, seed: int = SEED) -> list[Derivation]:
    """``n`` sentences with the exact log-probability of each, from a seeded RNG."""
    rng = random.Random(seed)
    return [GRAMMAR.sample(rng) for _ in range(n)]


def sample_sentences(n: int, seed: int = SEED) -> list[str]:
    """``n`` sentences of the grammar, e.g. ``"the wise king sees a red box ."``."""
    return [d.text for d in sample_derivations(n, seed)]


def monte_carlo_entropy(n: int, seed: int = SEED) -> float:
    """Estimate of the entropy (nats per sentence): the mean of ``-log p(s)`` over samples."""
    return -sum(d.log_prob for d in sample_derivations(n, seed)) / n


def sentence_log_prob(sentence: str) -> float:
    """Natural log of the probability of ``sentence``; ``-inf`` if it is not grammatical."""
    _, prob = GRAMMAR.parse(sentence.split())
    return math.log(prob) if prob > 0 else -math.inf


def parse_count(sentence: str) -> int:
    """How many derivations ``sentence`` has (1 for every grammatical sentence)."""
    return GRAMMAR.parse(sentence.split())[0]


def is_grammatical(sentence: str) -> bool:
    """Whether ``sentence`` (tokens separated by whitespace) is in the grammar's language."""
    tokens = sentence.split()
    return bool(tokens) and GRAMMAR.parse(tokens)[0] > 0
