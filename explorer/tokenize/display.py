"""How a token is shown: the one function from a token id to the text a person reads.

Every view, CLI table and export shows a token through ``token_label`` (or its batch and
whole-vocabulary forms), so that GPT-2's ``Ġthe`` reads ``␣the`` everywhere:

- a byte-level BPE piece is decoded to the text it stands for (``Ġthe`` -> `` the``;
  a partial UTF-8 character as ``\\x..``), SentencePiece's ``▁`` is a space;
- whitespace is then made visible (``visible``): space ␣, newline ⏎, tab ⇥, carriage
  return ␍; an empty string is ∅;
- a special token is shown by its role, ⟨bos⟩, ⟨eos⟩, ⟨mask⟩ …; one id with several roles
  (GPT-2's ``<|endoftext|>`` is both bos and eos) is shown as the tokenizer spells it;
- without a tokenizer, or for an id the vocabulary lacks, a token is ``#id`` (the spelling
  ``find_token`` and the CLI's ``--target`` accept too).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

WHITESPACE = {" ": "␣", "\n": "⏎", "\t": "⇥", "\r": "␍"}
SPECIAL_LABELS = {"bos": "⟨bos⟩", "eos": "⟨eos⟩", "pad": "⟨pad⟩", "unk": "⟨unk⟩",
                  "mask": "⟨mask⟩", "cls": "⟨cls⟩", "sep": "⟨sep⟩"}
_TABLE = str.maketrans(WHITESPACE)


def visible(text: str) -> str:
    """``text`` with whitespace made visible: ``" cat"`` -> ``"␣cat"``; empty -> ``"∅"``."""
    return text.translate(_TABLE) if text else "∅"


def _special_labels(tokenizer: object) -> dict[int, str]:
    """id -> label of the tokenizer's special tokens (its role, or its spelling when the id
    has several roles)."""
    roles: dict[int, list[str]] = {}
    for name, sid in (getattr(tokenizer, "special_ids", None) or {}).items():
        roles.setdefault(int(sid), []).append(name)
    lookup = getattr(tokenizer, "id_to_token", None)
    out = {}
    for sid, names in roles.items():
        spelled = lookup(sid) if lookup is not None else None
        if len(names) > 1 and spelled:
            out[sid] = spelled
        else:
            out[sid] = SPECIAL_LABELS.get(names[0], f"⟨{names[0]}⟩")
    return out


def _texts(tokenizer: object, ids: list[int]) -> list[str | None]:
    """The text each id stands for (None where the vocabulary has no such id)."""
    lookup = getattr(tokenizer, "id_to_token", None)
    strings = getattr(tokenizer, "token_strings", None)
    if strings is not None:  # the project's Tokenizer: readable text, byte-level decoded
        n = int(getattr(tokenizer, "vocab_size", 0) or 0)
        texts = [str(s) for s in strings(ids)]
        return [t if 0 <= i < n and (lookup is None or lookup(i) is not None) else None
                for i, t in zip(ids, texts)] if n else texts
    if lookup is not None:
        return [lookup(i) for i in ids]
    decode = getattr(tokenizer, "decode", None)
    return [decode([i]) for i in ids] if decode is not None else [None] * len(ids)


def token_labels(tokenizer: object | None, ids: Iterable[int]) -> list[str]:
    """``token_label`` of each id."""
    ids = [int(i) for i in ids]
    if tokenizer is None:
        return [f"#{i}" for i in ids]
    specials = _special_labels(tokenizer)
    plain = [i for i in ids if i not in specials]
    texts = dict(zip(plain, _texts(tokenizer, plain)))
    return [specials[i] if i in specials else
            f"#{i}" if texts[i] is None else visible(texts[i]) for i in ids]


def token_label(tokenizer: object | None, token: int) -> str:
    """The text shown for token id ``token`` (see the module docstring)."""
    return token_labels(tokenizer, [token])[0]


def vocabulary_labels(tokenizer: object | None, n: int) -> tuple[str, ...]:
    """``token_label`` of every id 0..n-1, built once per tokenizer and size (50,257
    look-ups would cost every keystroke ~60 ms)."""
    if tokenizer is None:
        return tuple(f"#{i}" for i in range(n))
    return _vocabulary_labels(tokenizer, n)


@functools.lru_cache(maxsize=4)
def _vocabulary_labels(tokenizer: object, n: int) -> tuple[str, ...]:
    return tuple(token_labels(tokenizer, range(n)))
