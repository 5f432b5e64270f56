"""Turning the typed text into the model's input: special tokens and chunks of ℓ_max.

The encoder reads ``[bos, tokens…, eos]``; the decoder reads ``[bos, tokens…]`` and
predicts each next token. A model trained by ``transformer-explorer train`` records its
task in ``cfg.extra["task"]`` and is fed the way it was trained (``input_roles``): the
next-token and masked-token models read raw token streams, the classifier ``[cls, …]``.
A text longer than ℓ_max is cut into consecutive chunks (the
paper's way of handling long inputs); the window shows one chunk at a time and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

from explorer.tokenize.display import token_labels

# Characters of a text the window reads (~25,000 GPT-2 tokens; the model reads one chunk
# of ℓ_max at a time): a longer paste is cut there, and the next start reads no more.
MAX_TEXT = 100_000


class Tokenizer(Protocol):
    """What the session needs from a tokenizer (``explorer.tokenize`` provides it)."""

    vocab_size: int
    special_ids: dict[str, int]

    def encode(self, text: str) -> Any: ...

    def decode(self, ids: list[int]) -> str: ...


@dataclass(frozen=True)
class Chunk:
    """One model input: ids with special tokens, the text span covered, and the labels
    (made when first read: a long text has many chunks and the window shows one)."""

    ids: tuple[int, ...]
    start: int  # character offsets of the covered text
    end: int
    tokenizer: Any = field(default=None, compare=False, repr=False)  # shows the labels

    @cached_property
    def labels(self) -> tuple[str, ...]:
        """A readable label per id, special tokens included (``token_labels``)."""
        return tuple(token_labels(self.tokenizer, self.ids))


@dataclass(frozen=True)
class EncodedText:
    """A text split into chunks that each fit in ℓ_max positions."""

    chunks: tuple[Chunk, ...]
    n_tokens: int  # tokens of the text itself, without special tokens
    per_chunk: int  # text tokens per chunk
    specials: tuple[str, ...] = field(default=())  # special tokens added around each chunk
    # The tokenizer's own encoding of the whole text (``Tokenizer.encode``), for views that
    # show the tokens: the text is tokenised once per edit.
    encoding: Any = field(default=None, compare=False, repr=False)

    @property
    def n_chunks(self) -> int:
        return len(self.chunks)

    def describe(self, index: int) -> str:
        """``tokens 1-62 of 150 (chunk 1 of 3)`` or ``12 tokens``."""
        if not self.chunks:
            return "no tokens"
        if self.n_chunks == 1:
            return f"{self.n_tokens} tokens"
        first = index * self.per_chunk + 1
        last = min(self.n_tokens, (index + 1) * self.per_chunk)
        return (f"tokens {first}–{last} of {self.n_tokens} "
                f"(chunk {index + 1} of {self.n_chunks}; each chunk fits ℓ_max)")


def special_id(tokenizer: Tokenizer, *names: str) -> tuple[str, int] | None:
    """The first of ``names`` the tokenizer has, with its id."""
    ids = getattr(tokenizer, "special_ids", None) or {}
    for name in names:
        if name in ids:
            return name, int(ids[name])
    return None


ROLES = ("encoder", "decoder", "raw", "cls")

# Training task (cfg.extra["task"]) -> (role of x, role of the context z)
_TASK_ROLES = {
    "next-token": ("raw", None),
    "masked": ("raw", None),
    "seq2seq": ("decoder", "raw"),
    "classify": ("cls", None),
    "last-token": ("raw", None),
}


def input_roles(cfg: Any) -> tuple[str, str | None]:
    """How ``cfg``'s model reads its input x and (encoder-decoder) its context z.

    A model we trained is fed as it was trained (its task is in ``cfg.extra``); any other
    model gets the paper's defaults: encoder ``bos … eos``, decoder ``bos …``.
    """
    extra = getattr(cfg, "extra", None) or {}
    task = extra.get("task") if isinstance(extra, dict) else None
    if task in _TASK_ROLES:
        return _TASK_ROLES[task]
    if cfg.arch == "encoder-decoder":
        return "decoder", "encoder"
    return ("encoder" if cfg.arch == "encoder" else "decoder"), None


def encode_text(tokenizer: Tokenizer, text: str, role: str, l_max: int) -> EncodedText:
    """Encode ``text`` for ``role`` in chunks of at most ``l_max`` positions.

    ``"encoder"`` inputs get ``bos … eos``, ``"decoder"`` inputs ``bos …``, ``"cls"`` inputs
    ``cls …`` and ``"raw"`` inputs the bare tokens; a tokenizer without bos/eos uses
    ``cls``/``sep`` instead when present, or just gets the bare tokens.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    enc = tokenizer.encode(text)
    ids = list(map(int, enc.ids))
    offsets = getattr(enc, "offsets", None) or [(0, 0)] * len(ids)
    head = (None if role == "raw" else special_id(tokenizer, "cls", "bos") if role == "cls"
            else special_id(tokenizer, "bos", "cls"))
    tail = special_id(tokenizer, "eos", "sep") if role == "encoder" else None
    if head is None and not ids:  # an empty raw text: one start token, so there is a pass
        head = special_id(tokenizer, "bos", "cls")
    extra = [s for s in (head, tail) if s is not None]
    per_chunk = l_max - len(extra)
    if per_chunk < 1:
        raise ValueError(f"ℓ_max = {l_max} leaves no room for tokens after the special tokens")
    chunks = []
    for lo in range(0, max(len(ids), 1), per_chunk):
        piece = slice(lo, lo + per_chunk)
        c_ids, c_off = ids[piece], offsets[piece]
        if head is not None:
            c_ids = [head[1], *c_ids]
        if tail is not None:
            c_ids = [*c_ids, tail[1]]
        if not c_ids:
            break
        start = c_off[0][0] if c_off else 0
        end = c_off[-1][1] if c_off else 0
        chunks.append(Chunk(tuple(c_ids), start, end, tokenizer))
    return EncodedText(tuple(chunks), len(ids), per_chunk, tuple(s[0] for s in extra), enc)
