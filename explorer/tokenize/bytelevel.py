"""The byte-to-character table of byte-level BPE (GPT-2), to show tokens readably."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def byte_to_char() -> dict[int, str]:
    """Printable bytes map to themselves; the others to code points from 256 up, in order."""
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAC + 1), *range(0xAE, 0xFF + 1)]
    table = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


@lru_cache(maxsize=1)
def char_to_byte() -> dict[str, int]:
    return {c: b for b, c in byte_to_char().items()}


def readable(token: str) -> str:
    """A byte-level token as the text it stands for (partial UTF-8 shown as \\x..)."""
    table = char_to_byte()
    if not all(c in table for c in token):
        return token
    raw = bytes(table[c] for c in token)
    return raw.decode("utf-8", errors="backslashreplace")
