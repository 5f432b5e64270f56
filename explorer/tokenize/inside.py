"""How a tokenizer turns one word into pieces, step by step (Qt-free, for the tokenizer lab).

- ``words(tok, text)``: the text as the model sees it, word by word (after the
  normalizer and the pre-tokenizer, ``Ġ`` and ``▁`` included), with character spans.
- ``bpe_replay(tok, word)``: the characters, then one merge at a time (lowest rank
  first, leftmost first), each step with the merge's rank.
- ``wordpiece_steps(tok, word)``: the greedy longest-match search: every candidate
  tried, longest first, and the ones found (``##`` marks a continuation).
- ``unigram_best(tok, word)``: the Viterbi segmentation (highest sum of piece log
  probabilities) and the next best one, with their log probabilities.

Each follows the ``tokenizers`` library's own rules, so their final pieces are the
tokenizer's encoding of the word (the tests check it).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache

from tokenizers import PreTokenizedString

from explorer.tokenize.tokenizer import Tokenizer

UNK_PENALTY = 10.0  # what ``tokenizers``' Unigram takes off the lowest score for an unknown char


@dataclass(frozen=True)
class Word:
    """One pre-tokenized word: its form as the model sees it and its span in the text."""

    text: str
    start: int
    end: int
    special: bool = False  # an added (special) token typed in the text


def model_data(tok: Tokenizer) -> dict:
    """The ``model`` entry of the tokenizer's JSON (read once per tokenizer)."""
    return _model_data(tok.hf.to_str())


@lru_cache(maxsize=4)
def _model_data(serialized: str) -> dict:
    return json.loads(serialized).get("model") or {}


def _added_pattern(tok: Tokenizer) -> re.Pattern | None:
    contents = [t.content for t in tok.hf.get_added_tokens_decoder().values() if t.content]
    if not contents:
        return None
    return re.compile("|".join(map(re.escape, sorted(contents, key=len, reverse=True))))


def words(tok: Tokenizer, text: str) -> list[Word]:
    """The words the model's algorithm receives, in order (added tokens as their own)."""
    out: list[Word] = []
    pattern = _added_pattern(tok)
    pos = 0
    matches = list(pattern.finditer(text)) if pattern else []
    for m in [*matches, None]:
        end = m.start() if m is not None else len(text)
        if end > pos:
            out += _plain_words(tok, text[pos:end], pos)
        if m is not None:
            out.append(Word(m.group(), m.start(), m.end(), special=True))
            pos = m.end()
    return out


def _plain_words(tok: Tokenizer, text: str, shift: int) -> list[Word]:
    if tok.kind == "char":
        return [Word(c, shift + i, shift + i + 1) for i, c in enumerate(text)]
    pts = PreTokenizedString(text)
    normalizer, pre = tok.hf.normalizer, tok.hf.pre_tokenizer
    if normalizer is not None:
        pts.normalize(normalizer.normalize)
    if pre is not None:
        pre.pre_tokenize(pts)
    splits = pts.get_splits(offset_referential="original", offset_type="char")
    return [Word(s, shift + a, shift + b) for s, (a, b), _ in splits if s]


def word_at(ws: list[Word], position: int) -> Word | None:
    """The word whose span holds character ``position`` (or ends just before it)."""
    for w in ws:
        if w.start <= position < w.end:
            return w
    before = [w for w in ws if w.end == position]
    return before[-1] if before else None


# -- BPE ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class MergeStep:
    """The pieces after a merge; ``rank`` is the merge's place in the merge list."""

    pieces: tuple[str, ...]
    rank: int | None = None  # None: the starting characters
    pair: tuple[str, str] | None = None
    position: int | None = None  # index of the left piece that was merged


@dataclass
class BpeTables:
    vocab: dict[str, int]
    ranks: dict[tuple[str, str], int]
    unk: str | None
    prefix: str
    suffix: str
    fuse_unk: bool
    byte_fallback: bool
    ignore_merges: bool


def bpe_tables(tok: Tokenizer) -> BpeTables:
    data = model_data(tok)
    if data.get("type") != "BPE":
        raise ValueError(f"{tok.name} is not a BPE tokenizer")
    ranks = {}
    for r, m in enumerate(data.get("merges") or []):
        a, b = m.split(" ", 1) if isinstance(m, str) else m
        ranks.setdefault((a, b), r)
    return BpeTables(
        vocab=data.get("vocab") or {},
        ranks=ranks,
        unk=data.get("unk_token"),
        prefix=data.get("continuing_subword_prefix") or "",
        suffix=data.get("end_of_word_suffix") or "",
        fuse_unk=bool(data.get("fuse_unk")),
        byte_fallback=bool(data.get("byte_fallback")),
        ignore_merges=bool(data.get("ignore_merges")),
    )


def _bpe_start(t: BpeTables, word: str) -> list[str]:
    symbols: list[str] = []
    for i, c in enumerate(word):
        s = (t.prefix if i > 0 else "") + c + (t.suffix if i == len(word) - 1 else "")
        if s in t.vocab:
            symbols.append(s)
            continue
        byte_pieces = [f"<0x{b:02X}>" for b in c.encode("utf-8")]
        if t.byte_fallback and all(b in t.vocab for b in byte_pieces):
            symbols += byte_pieces
        elif t.unk is not None:
            if t.fuse_unk and symbols and symbols[-1] == t.unk:
                continue
            symbols.append(t.unk)
        # no unk token: the library drops the character
    return symbols


def bpe_replay(tok: Tokenizer, word: str, tables: BpeTables | None = None) -> list[MergeStep]:
    """The word's characters, then each merge: the adjacent pair with the lowest rank,
    the leftmost of equals, until no adjacent pair has a merge."""
    t = tables or bpe_tables(tok)
    if t.ignore_merges and word in t.vocab:
        return [MergeStep((word,))]
    pieces = _bpe_start(t, word)
    steps = [MergeStep(tuple(pieces))]
    while len(pieces) > 1:
        best: tuple[int, int] | None = None
        for i in range(len(pieces) - 1):
            r = t.ranks.get((pieces[i], pieces[i + 1]))
            if r is not None and (best is None or r < best[0]):
                best = (r, i)
        if best is None:
            break
        r, i = best
        a, b = pieces[i], pieces[i + 1]
        merged = a + (b[len(t.prefix):] if t.prefix and b.startswith(t.prefix) else b)
        pieces = [*pieces[:i], merged, *pieces[i + 2 :]]
        steps.append(MergeStep(tuple(pieces), r, (a, b), i))
    return steps


# -- WordPiece -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Try:
    """One candidate of the greedy search: ``word[start:end]`` (``##`` after the start)."""

    start: int
    end: int
    candidate: str
    found: bool


@dataclass
class WordPieceSteps:
    word: str
    tries: list[Try] = field(default_factory=list)
    pieces: list[str] = field(default_factory=list)
    note: str = ""  # why the whole word became the unknown token


def wordpiece_steps(tok: Tokenizer, word: str) -> WordPieceSteps:
    """Greedy longest match first: at each position the longest vocabulary entry that
    starts there wins (a continuation carries ``##``); no match anywhere: ``[UNK]``."""
    data = model_data(tok)
    if data.get("type") != "WordPiece":
        raise ValueError(f"{tok.name} is not a WordPiece tokenizer")
    vocab = data.get("vocab") or {}
    prefix = data.get("continuing_subword_prefix", "##")
    unk = data.get("unk_token", "[UNK]")
    limit = int(data.get("max_input_chars_per_word", 100))
    out = WordPieceSteps(word)
    if len(word) > limit:
        out.pieces, out.note = [unk], f"longer than {limit} characters"
        return out
    start = 0
    while start < len(word):
        end, found = len(word), None
        while end > start:
            cand = (prefix if start > 0 else "") + word[start:end]
            hit = cand in vocab
            out.tries.append(Try(start, end, cand, hit))
            if hit:
                found = cand
                break
            end -= 1
        if found is None:
            out.pieces = [unk]
            out.note = f"nothing in the vocabulary starts at character {start + 1}"
            return out
        out.pieces.append(found)
        start = end
    return out


# -- Unigram -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Segmentation:
    pieces: tuple[str, ...]
    scores: tuple[float, ...]  # each piece's log probability (unknown: lowest − 10)

    @property
    def log_prob(self) -> float:
        total = 0.0
        for s in self.scores:
            total += s
        return total


@dataclass
class UnigramResult:
    word: str
    best: Segmentation
    next_best: Segmentation | None  # None: the word has one segmentation only


def _unigram_tables(tok: Tokenizer) -> tuple[dict[str, float], float, str | None, int]:
    data = model_data(tok)
    if data.get("type") != "Unigram":
        raise ValueError(f"{tok.name} is not a Unigram tokenizer")
    vocab = data.get("vocab") or []
    unk_id = data.get("unk_id")
    unk = vocab[unk_id][0] if unk_id is not None and unk_id < len(vocab) else None
    scores = {p: float(s) for p, s in vocab if p != unk}
    lowest = min(scores.values(), default=0.0)
    longest = max((len(p) for p in scores), default=1)
    return scores, lowest - UNK_PENALTY, unk, longest


def piece_score(tok: Tokenizer, piece: str) -> float | None:
    """A Unigram piece's log probability (None: not a piece)."""
    return _unigram_tables(tok)[0].get(piece)


def unigram_best(tok: Tokenizer, word: str) -> UnigramResult:
    """The two most probable segmentations of ``word`` (a lattice, two best paths kept
    at each position; ties go to the longer last piece, as the library does)."""
    scores, unk_score, unk, longest = _unigram_tables(tok)
    n = len(word)
    # best[i]: up to two (score, pieces, piece scores) for word[:i], best first
    best: list[list[tuple[float, tuple[str, ...], tuple[float, ...]]]] = [[] for _ in range(n + 1)]
    best[0] = [(0.0, (), ())]
    for end in range(1, n + 1):
        cands = []
        for start in range(max(0, end - longest), end):
            piece = word[start:end]
            s = scores.get(piece)
            if s is None and end - start == 1 and word[start] not in scores:
                s, piece = unk_score, piece  # an unknown character
            if s is None:
                continue
            for total, ps, ss in best[start]:
                cands.append((total + s, (*ps, piece), (*ss, s)))
        cands.sort(key=lambda c: -c[0])  # stable: the earliest start wins a tie
        best[end] = cands[:2]
    if n == 0:
        return UnigramResult(word, Segmentation((), ()), None)
    (b, *rest) = best[n]
    known = set(scores)
    first = _fuse_unknown(b[1], b[2], known)
    second = _fuse_unknown(rest[0][1], rest[0][2], known) if rest else None
    return UnigramResult(word, first, second)


def _fuse_unknown(pieces, piece_scores, known: set[str]) -> Segmentation:
    """Unknown characters in a row become one piece (the library fuses them), their
    scores added."""
    ps: list[str] = []
    ss: list[float] = []
    last_unknown = False
    for p, s in zip(pieces, piece_scores):
        unknown = p not in known
        if unknown and last_unknown:
            ps[-1] += p
            ss[-1] += s
        else:
            ps.append(p)
            ss.append(s)
        last_unknown = unknown
    return Segmentation(tuple(ps), tuple(ss))
