"""Token ids of a long text, piece by piece, into a compact integer array.

``encode_ids(tokenizer, text)`` gives the same ids as ``tokenizer.encode(text).ids``
but never builds the token strings and character offsets (a 50 MB text has 50 million
of them), and writes the ids as int32 into a NumPy array, or into a memory-mapped
temporary file when there are many (``memmap_above`` ids). ``check`` is called between
pieces, so a caller can abandon a long encoding (it raises to stop).
"""

from __future__ import annotations

import os
import tempfile
import weakref
from collections.abc import Callable, Iterator

import numpy as np

from explorer.tokenize.offsets import PIECE_CHARS, split_points
from explorer.tokenize.tokenizer import Tokenizer, clean_text

CHUNK_CHARS = 1 << 22  # about 4 M characters per piece of work
MEMMAP_ABOVE = 1 << 25  # 32 M ids (128 MB) and more go to a temporary file


def _line_chunks(text: str, size: int) -> Iterator[str]:
    """Consecutive pieces of about ``size`` characters, each ending after a line break
    (or at the end); no special token spans a line break, so none is cut."""
    start, n = 0, len(text)
    while start < n:
        stop = text.find("\n", min(n, start + size))
        stop = n if stop < 0 else stop + 1
        yield text[start:stop]
        start = stop


def _char_table(tok: Tokenizer) -> tuple[np.ndarray, int]:
    """A lookup table code point -> id for the single characters of a char vocabulary."""
    vocab, _ = tok._char_tables()
    unk = tok.special_ids.get("unk")
    unk = -1 if unk is None else int(unk)
    singles = {k: v for k, v in vocab.items() if len(k) == 1}
    size = max((ord(k) for k in singles), default=0) + 1
    table = np.full(size, unk, dtype=np.int64)
    for k, v in singles.items():
        table[ord(k)] = v
    return table, unk


def _char_ids(text: str, table: np.ndarray, unk: int) -> np.ndarray:
    points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    ids = np.full(points.shape, unk, dtype=np.int64)
    known = points < table.shape[0]
    ids[known] = table[points[known]]
    return ids


def _char_pieces(tok: Tokenizer, text: str) -> Iterator[np.ndarray]:
    table, unk = _char_table(tok)
    vocab, special_re = tok._char_tables()
    pos = 0
    for m in (special_re.finditer(text) if special_re else ()):
        if m.start() > pos:
            yield _char_ids(text[pos : m.start()], table, unk)
        yield np.array([vocab[m.group()]], dtype=np.int64)
        pos = m.end()
    if pos < len(text):
        yield _char_ids(text[pos:], table, unk)


def _hf_pieces(tok: Tokenizer, text: str, check: Callable[[], None] | None
               ) -> Iterator[np.ndarray]:
    """The ``tokenizers`` pipeline on pieces cut before single spaces (where the tokens
    do not change, ``offsets.split_points``), a group of pieces at a time."""
    if not tok._splittable():
        yield np.asarray(tok.hf.encode(text, add_special_tokens=False).ids, dtype=np.int64)
        return
    bounds = [*split_points(text), len(text)]
    group = max(1, CHUNK_CHARS // PIECE_CHARS)
    for i in range(0, len(bounds) - 1, group):
        if check is not None:
            check()
        edges = bounds[i : i + group + 1]
        pieces = [text[a:b] for a, b in zip(edges, edges[1:])]
        for enc in tok.hf.encode_batch(pieces, add_special_tokens=False):
            yield np.asarray(enc.ids, dtype=np.int64)


def iter_ids(
    tok: Tokenizer, text: str, check: Callable[[], None] | None = None
) -> Iterator[np.ndarray]:
    """The ids of ``text`` in consecutive int64 pieces (``check()`` between pieces)."""
    if tok.kind != "char":
        clean, _ = clean_text(text)
        yield from _hf_pieces(tok, clean, check)
        return
    for chunk in _line_chunks(text, CHUNK_CHARS):
        if check is not None:
            check()
        clean, _ = clean_text(chunk)
        yield from _char_pieces(tok, clean)


def _to_int32(ids: np.ndarray) -> np.ndarray:
    if ids.size and ids.min() < 0:
        raise ValueError("the text holds a character the tokenizer does not know, and it "
                         "has no <unk> token")
    if ids.size and ids.max() > np.iinfo(np.int32).max:
        raise ValueError("token ids out of range for int32")
    return ids.astype(np.int32)


def encode_ids(
    tok: Tokenizer,
    text: str,
    check: Callable[[], None] | None = None,
    memmap_above: int = MEMMAP_ABOVE,
) -> np.ndarray:
    """All ids of ``text`` as one int32 array (memory-mapped when longer than
    ``memmap_above``; the temporary file goes away with the array)."""
    parts: list[np.ndarray] = []
    count = 0
    spill = None
    try:
        for piece in iter_ids(tok, text, check):
            piece = _to_int32(piece)
            count += piece.size
            if spill is None and count > memmap_above:
                spill = tempfile.NamedTemporaryFile(prefix="explorer-ids-", suffix=".int32",
                                                    delete=False)
                for p in parts:
                    spill.write(p.tobytes())
                parts = []
            if spill is not None:
                spill.write(piece.tobytes())
            else:
                parts.append(piece)
    except BaseException:
        if spill is not None:
            spill.close()
            os.unlink(spill.name)
        raise
    if spill is None:
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
    spill.close()
    ids = np.memmap(spill.name, dtype=np.int32, mode="c", shape=(count,))
    try:
        os.unlink(spill.name)  # POSIX: the mapping keeps the data until it is closed
    except OSError:  # Windows: delete once the array is gone
        weakref.finalize(ids, _remove, spill.name)
    return ids


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
