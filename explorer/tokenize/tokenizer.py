"""A tokenizer the app can show: ids, tokens and character offsets, special tokens, chunks.

Wraps a Hugging Face ``tokenizers.Tokenizer``. Kinds: ``char``, ``word``, ``bpe``
(byte-level, as GPT-2), ``wordpiece`` (as BERT), ``unigram`` (as SentencePiece).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from tokenizers import Tokenizer as HFTokenizer

from explorer.tokenize.bytelevel import readable
from explorer.tokenize.offsets import PARALLEL_CHARS, split_points, splittable, well_formed
from explorer.tokenize.specials import find_special_ids

KINDS = ("char", "word", "bpe", "wordpiece", "unigram")
KIND_LABELS = {
    "char": "Character-level",
    "word": "Word-level",
    "bpe": "Byte-level BPE (GPT-2 style)",
    "wordpiece": "WordPiece (BERT style)",
    "unigram": "Unigram (SentencePiece style)",
}
_SURROGATE = re.compile("[\ud800-\udfff]")


class TokenizerFileError(ValueError):
    """A file that is missing, unreadable or not a tokenizer.json."""


def clean_text(text: str) -> tuple[str, bool]:
    """Replace lone surrogates (from a clipboard) by U+FFFD; same length, so offsets hold."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    cleaned = _SURROGATE.sub("\ufffd", text)
    return cleaned, cleaned is not text and cleaned != text


@dataclass(frozen=True)
class Encoding:
    """Token ids, token strings and (start, end) character spans into the text."""

    ids: list[int]
    tokens: list[str]
    offsets: list[tuple[int, int]]
    text: str
    replaced_surrogates: bool = False
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)


class Tokenizer:
    """The project's tokenizer: a ``tokenizers.Tokenizer`` plus what the UI needs."""

    def __init__(self, hf: HFTokenizer, kind: str, name: str = "") -> None:
        hf.no_padding()  # a real tokenizer.json may pad or cut every text to a fixed length;
        hf.no_truncation()  # the app shows whole texts and chunks them itself
        self.hf = hf
        self.kind = kind
        self.name = name or KIND_LABELS.get(kind, kind)
        self.special_ids: dict[str, int] = find_special_ids(hf.token_to_id)
        self._special_set = set(self.special_ids.values())

    # -- basics ----------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return self.hf.get_vocab_size(with_added_tokens=True)

    def id_to_token(self, i: int) -> str | None:
        return self.hf.id_to_token(int(i))

    def token_to_id(self, token: str) -> int | None:
        return self.hf.token_to_id(token)

    def special_name(self, i: int) -> str | None:
        """``"bos"`` etc. for a special id, else None."""
        for name, sid in self.special_ids.items():
            if sid == i:
                return name
        return None

    def encode(self, text: str) -> Encoding:
        """Ids, tokens and character offsets of ``text`` (no special tokens added)."""
        clean, replaced = clean_text(text)
        notes = ["invalid surrogate characters were replaced by U+FFFD"] if replaced else []
        if self.kind == "char":
            ids, tokens, offsets = self._encode_chars(clean)
            return Encoding(ids, tokens, offsets, clean, replaced, notes)
        ids, tokens, offsets = self._encode_hf(clean)
        return Encoding(ids, tokens, well_formed(clean, tokens, offsets), clean, replaced, notes)

    def count_tokens(self, text: str) -> int:
        """``len(encode(text).ids)`` without building strings and offsets (a 10 MB paste)."""
        clean, _ = clean_text(text)
        if self.kind == "char":
            special_re = self._char_tables()[1]
            if special_re is None:
                return len(clean)
            return len(clean) - sum(m.end() - m.start() - 1 for m in special_re.finditer(clean))
        starts, pieces = self._pieces(clean)
        if len(pieces) == 1:
            return len(self.hf.encode(clean, add_special_tokens=False))
        return sum(len(e) for e in self.hf.encode_batch(pieces, add_special_tokens=False))

    def _pieces(self, text: str) -> tuple[list[int], list[str]]:
        """A long text cut before single spaces (where no pre-tokenizer we accept joins
        across), so that its pieces can be encoded in parallel with the same tokens."""
        if len(text) <= PARALLEL_CHARS or not self._splittable():
            return [0], [text]
        starts = split_points(text)
        bounds = [*starts, len(text)]
        return starts, [text[a:b] for a, b in zip(bounds, bounds[1:])]

    def _encode_hf(self, text: str) -> tuple[list[int], list[str], list[tuple[int, int]]]:
        """The ``tokenizers`` pipeline (long texts in parallel pieces)."""
        starts, pieces = self._pieces(text)
        if len(pieces) == 1:
            enc = self.hf.encode(text, add_special_tokens=False)
            return list(enc.ids), list(enc.tokens), [tuple(o) for o in enc.offsets]
        ids: list[int] = []
        tokens: list[str] = []
        offsets: list[tuple[int, int]] = []
        for start, enc in zip(starts, self.hf.encode_batch(pieces, add_special_tokens=False)):
            ids += enc.ids
            tokens += enc.tokens
            offsets += [(a + start, b + start) for a, b in enc.offsets]
        return ids, tokens, offsets

    def _splittable(self) -> bool:
        if not hasattr(self, "_can_split"):
            self._can_split = splittable(json.loads(self.hf.to_str()))
        return self._can_split

    def _char_tables(self) -> tuple[dict[str, int], re.Pattern | None]:
        """The character vocabulary and a pattern matching special tokens typed in a text."""
        if not hasattr(self, "_char_vocab"):
            self._char_vocab = self.hf.get_vocab(with_added_tokens=True)
            specials = sorted(
                (self.hf.id_to_token(i) for i in self._special_set), key=len, reverse=True
            )
            self._special_re = re.compile("|".join(map(re.escape, specials))) if specials else None
        return self._char_vocab, self._special_re

    def _encode_chars(self, text: str) -> tuple[list[int], list[str], list[tuple[int, int]]]:
        """Character-level encoding done directly (the same ids as the tokenizers
        pipeline, ~20x faster, since a per-character regex split is slow there)."""
        vocab, special_re = self._char_tables()
        unk = self.special_ids.get("unk")
        ids: list[int] = []
        tokens: list[str] = []
        offsets: list[tuple[int, int]] = []
        pos = 0
        matches = list(special_re.finditer(text)) if special_re else []
        for m in [*matches, None]:
            end = m.start() if m is not None else len(text)
            piece = text[pos:end]
            ids += [vocab.get(c, unk) for c in piece]
            tokens += [c if c in vocab else self.hf.id_to_token(unk) for c in piece]
            offsets += [(i, i + 1) for i in range(pos, end)]
            if m is not None:
                ids.append(vocab[m.group()])
                tokens.append(m.group())
                offsets.append((m.start(), m.end()))
                pos = m.end()
        return ids, tokens, offsets

    def encode_for_model(self, text: str, add_bos: bool = True, add_eos: bool = True) -> list[int]:
        """[bos, tokens..., eos] as the paper feeds a model (cls/sep where bos/eos are absent)."""
        ids = self.encode(text).ids
        bos = self.special_ids.get("bos", self.special_ids.get("cls"))
        eos = self.special_ids.get("eos", self.special_ids.get("sep"))
        head = [bos] if add_bos and bos is not None else []
        tail = [eos] if add_eos and eos is not None else []
        return head + ids + tail

    def decode(self, ids, skip_special: bool = True) -> str:
        """Text for ids (special tokens dropped unless ``skip_special`` is False)."""
        return self.hf.decode([int(i) for i in ids], skip_special_tokens=skip_special)

    def token_strings(self, ids) -> list[str]:
        """Readable strings for display: byte-level BPE shown as text, '▁' as a space."""
        out = []
        for i in ids:
            tok = self.hf.id_to_token(int(i))
            if tok is None:
                out.append(f"<{int(i)}?>")
            elif int(i) in self._special_set:
                out.append(tok)
            elif self._byte_level():
                out.append(readable(tok))
            else:
                out.append(tok.replace("▁", " "))
        return out

    @staticmethod
    def chunk(ids, l_max: int) -> list[list[int]]:
        """The paper's chunking: consecutive pieces of at most ``l_max`` tokens."""
        if l_max < 1:
            raise ValueError(f"l_max must be at least 1, not {l_max}")
        ids = list(ids)
        return [ids[i : i + l_max] for i in range(0, len(ids), l_max)]

    # -- what the lecture shows --------------------------------------------------------
    def merges(self) -> list[tuple[str, str]]:
        """BPE merges in the order they were learned (empty for other models)."""
        model = json.loads(self.hf.to_str()).get("model", {})
        if model.get("type") != "BPE":
            return []
        pairs = []
        for m in model.get("merges", []):
            a, b = m.split(" ", 1) if isinstance(m, str) else m
            pairs.append((a, b))
        return pairs

    def used_vocabulary(self, text: str) -> list[tuple[int, str, int]]:
        """(id, token, count) of every vocabulary entry ``text`` uses, by first use."""
        counts: dict[int, int] = {}
        for i in self.encode(text).ids:
            counts[i] = counts.get(i, 0) + 1
        strings = self.token_strings(list(counts))
        return [(i, s, counts[i]) for i, s in zip(counts, strings)]

    def vocabulary(self) -> list[tuple[int, str]]:
        """The whole vocabulary, by id."""
        ids = list(range(self.vocab_size))
        return list(zip(ids, self.token_strings(ids)))

    def _byte_level(self) -> bool:
        if not hasattr(self, "_is_byte_level"):
            self._is_byte_level = '"ByteLevel"' in self.hf.to_str()[:200000] and self.kind == "bpe"
        return self._is_byte_level

    # -- files -----------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Write a standard tokenizer.json (atomically)."""
        p = Path(path)
        if p.is_dir():
            p = p / "tokenizer.json"
        tmp = p.with_name(p.name + ".tmp")
        self.hf.save(str(tmp))
        os.replace(tmp, p)
        return p

    def __repr__(self) -> str:
        return f"Tokenizer(kind={self.kind!r}, vocab_size={self.vocab_size})"


def used_vocabulary(tok: Tokenizer, text: str) -> list[tuple[int, str, int]]:
    """(id, display string, count) of every vocabulary entry ``text`` uses, by first use."""
    return tok.used_vocabulary(text)


def _infer_kind(data: dict) -> str:
    model = data.get("model") or {}
    mtype = model.get("type")
    pre = json.dumps(data.get("pre_tokenizer"))
    if mtype == "BPE":
        return "bpe"
    if mtype == "WordPiece":
        return "wordpiece"
    if mtype == "Unigram":
        return "unigram"
    if mtype == "WordLevel":
        return "char" if "[\\\\s\\\\S]" in pre else "word"
    raise TokenizerFileError(f"unsupported tokenizer model type {mtype!r}")


def load_tokenizer(path: str | os.PathLike) -> Tokenizer:
    """Open a tokenizer.json: ours, or a real model's (GPT-2 BPE, BERT WordPiece, ...)."""
    p = Path(path)
    if p.is_dir():
        p = p / "tokenizer.json"
    if not p.is_file():
        raise TokenizerFileError(f"{p}: no such tokenizer file")
    try:
        text = p.read_text(encoding="utf-8")
        data = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TokenizerFileError(f"{p}: not a valid tokenizer.json ({exc})") from exc
    if not isinstance(data, dict) or "model" not in data:
        raise TokenizerFileError(f"{p}: not a tokenizer.json (no 'model' entry)")
    kind = _infer_kind(data)
    try:
        hf = HFTokenizer.from_str(text)
    except Exception as exc:  # the Rust side raises its own exception type
        raise TokenizerFileError(f"{p}: cannot load tokenizer ({exc})") from exc
    return Tokenizer(hf, kind, name=f"{KIND_LABELS[kind]} from {p.parent.name or p.name}")
