"""Character offsets the app can draw, and where a long text may be cut for speed.

``tokenizers`` gives every byte-level token of one character (an emoji split into
byte pieces) the same span, and a Metaspace tokenizer the prepended ``▁`` the span of
the first character. ``well_formed`` makes the spans inside the text, in order and
non-overlapping: the first token of a shared span keeps it, the others get an empty
span at its end; an invented ``▁`` gets an empty span where it stands.
"""

from __future__ import annotations

import re
from itertools import chain

import numpy as np

PARALLEL_CHARS = 200_000  # texts longer than this are encoded in pieces, in parallel
PIECE_CHARS = 50_000
_CUT = re.compile(r"(?<=\S) (?=\S)")  # a single space between two non-space characters

# Normalizers and pre-tokenizers that never join characters across a single space, so
# encoding "a b" as "a" + " b" gives the same tokens (checked against one encode in tests).
_SAFE_TYPES = {
    "BertNormalizer",
    "NFC",
    "NFD",
    "NFKC",
    "NFKD",
    "Lowercase",
    "StripAccents",
    "Strip",
    "Sequence",
    "ByteLevel",
    "BertPreTokenizer",
    "Whitespace",
    "WhitespaceSplit",
    "Punctuation",
    "Digits",
    "Metaspace",
    "Split",
    "UnicodeScripts",
}
_SAFE_SPLITS = {r"[\s\S]", r"\w+|[^\w\s]"}  # our char and word patterns


def well_formed(
    text: str, tokens: list[str], offsets: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Spans clipped to the text, in order, non-overlapping (see the module docstring).

    Vectorised (a 10 MB paste has millions of tokens): with ``E`` the running maximum of
    the ends, start_i becomes max(start_i, E_{i-1}) and end_i max(end_i, start_i).
    """
    n = len(offsets)
    if n == 0:
        return []
    raw = np.fromiter(chain.from_iterable(offsets), dtype=np.int64, count=2 * n)
    flat = np.clip(raw, 0, len(text))
    starts, ends = flat[0::2].copy(), flat[1::2].copy()
    for i in (i for i, tok in enumerate(tokens) if tok == "▁"):
        if text[starts[i] : ends[i]] != " ":
            ends[i] = starts[i]  # Metaspace's prepended word marker stands for no character
    ends = np.maximum(ends, starts)
    before = np.concatenate(([0], np.maximum.accumulate(ends)[:-1]))
    new_starts = np.maximum(starts, before)
    new_ends = np.maximum(ends, new_starts)
    changed = np.nonzero((new_starts != raw[0::2]) | (new_ends != raw[1::2]))[0]
    out = offsets if isinstance(offsets, list) else list(offsets)
    if len(changed):
        out = list(out)
        for i in changed.tolist():
            out[i] = (int(new_starts[i]), int(new_ends[i]))
    return out


def split_points(text: str, piece: int = PIECE_CHARS) -> list[int]:
    """Starts of pieces of about ``piece`` characters, each cut before a single space."""
    starts = [0]
    while True:
        m = _CUT.search(text, starts[-1] + piece)
        if m is None:
            return starts
        starts.append(m.start())


def _types(node, found: list) -> None:
    if isinstance(node, dict):
        if "type" in node:
            found.append(node)
        for v in node.values():
            _types(v, found)
    elif isinstance(node, list):
        for v in node:
            _types(v, found)


def splittable(data: dict) -> bool:
    """True if this tokenizer.json's normalizer and pre-tokenizer allow cutting a text
    before a single space between two words without changing its tokens."""
    found: list[dict] = []
    _types(data.get("normalizer"), found)
    _types(data.get("pre_tokenizer"), found)
    for node in found:
        kind = node["type"]
        if kind not in _SAFE_TYPES:
            return False
        if kind == "Split" and (node.get("pattern") or {}).get("Regex") not in _SAFE_SPLITS:
            return False
        if kind == "Metaspace" and not node.get("split", True):
            return False
    return True
