"""Train a tokenizer of each kind on texts, special tokens at the end of the vocabulary."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from itertools import chain

from tokenizers import Regex, decoders, models, pre_tokenizers, trainers
from tokenizers import Tokenizer as HFTokenizer

from explorer.tokenize.specials import OUR_STRINGS, SPECIAL_ORDER
from explorer.tokenize.tokenizer import KINDS, Tokenizer, clean_text

CHAR_PATTERN = r"[\s\S]"
WORD_PATTERN = r"\w+|[^\w\s]"
_WORD_RE = re.compile(WORD_PATTERN)


def _texts(texts: Iterable[str]) -> Iterator[str]:
    """The texts cleaned one by one as they are read (a generator of lines of a large
    file is never held as a list); ValueError when none holds more than whitespace."""
    if isinstance(texts, str):
        texts = [texts]
    cleaned = (clean_text(t)[0] for t in texts)
    head = []
    for t in cleaned:
        head.append(t)
        if t and not t.isspace():
            return chain(head, cleaned)
    raise ValueError("cannot train a tokenizer on empty text")


def _level_vocab(counts: Counter, vocab_size: int | None, specials: list[str]) -> dict[str, int]:
    """Most frequent units first (ties by the unit itself), then the special tokens."""
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    budget = None if vocab_size is None else max(1, vocab_size - len(specials))
    units = [u for u, _ in ranked[:budget]]
    vocab = {u: i for i, u in enumerate(units)}
    for s in specials:
        vocab[s] = len(vocab)
    return vocab


def _add_specials(hf: HFTokenizer, names) -> None:
    hf.add_special_tokens([OUR_STRINGS[n] for n in names])


def train_tokenizer(kind: str, texts: Iterable[str], vocab_size: int | None = None) -> Tokenizer:
    """Train a ``kind`` tokenizer on ``texts``; ``vocab_size`` counts the special tokens.

    Char and word vocabularies hold the most frequent units (all of them when
    ``vocab_size`` is None); unknown ones map to ``<unk>``. The special tokens take
    the last ids, ending with mask, bos, eos as in the paper.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown tokenizer kind {kind!r}: use one of {', '.join(KINDS)}")
    corpus = _texts(texts)
    specials = [OUR_STRINGS[n] for n in SPECIAL_ORDER]
    if kind in ("char", "word"):
        counts: Counter = Counter()
        for t in corpus:
            counts.update(t if kind == "char" else _WORD_RE.findall(t))
        vocab = _level_vocab(counts, vocab_size, specials)
        hf = HFTokenizer(models.WordLevel(vocab, unk_token=OUR_STRINGS["unk"]))
        if kind == "char":
            hf.pre_tokenizer = pre_tokenizers.Split(Regex(CHAR_PATTERN), "isolated")
        else:  # words and punctuation; whitespace separates and is dropped
            hf.pre_tokenizer = pre_tokenizers.Sequence(
                [
                    pre_tokenizers.WhitespaceSplit(),
                    pre_tokenizers.Split(Regex(WORD_PATTERN), "isolated"),
                ]
            )
        hf.decoder = decoders.Fuse() if kind == "char" else None
        _add_specials(hf, SPECIAL_ORDER)  # already in the vocabulary: marks them special
        return Tokenizer(hf, kind)
    size = vocab_size or 1000
    if kind == "bpe":
        no_unk = [n for n in SPECIAL_ORDER if n != "unk"]
        hf = HFTokenizer(models.BPE())
        hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        hf.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=max(257, size - len(no_unk)),
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        hf.train_from_iterator(corpus, trainer)
        _add_specials(hf, no_unk)
        return Tokenizer(hf, kind)
    unk = OUR_STRINGS["unk"]
    if kind == "wordpiece":
        hf = HFTokenizer(models.WordPiece(unk_token=unk))
        hf.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        hf.decoder = decoders.WordPiece()
        trainer = trainers.WordPieceTrainer(
            vocab_size=max(2, size - len(specials) + 1), special_tokens=[unk], show_progress=False
        )
    else:
        hf = HFTokenizer(models.Unigram())
        hf.pre_tokenizer = pre_tokenizers.Metaspace()
        hf.decoder = decoders.Metaspace()
        trainer = trainers.UnigramTrainer(
            vocab_size=max(2, size - len(specials) + 1),
            special_tokens=[unk],
            unk_token=unk,
            show_progress=False,
        )
    hf.train_from_iterator(corpus, trainer)
    return Tokenizer(_specials_last(hf, kind), kind)


def _specials_last(trained: HFTokenizer, kind: str) -> HFTokenizer:
    """Rebuild a trained WordPiece or Unigram model with ``<unk>`` moved from id 0 (where
    the trainers put it) to after the ordinary tokens: ordinary, pad, unk, cls, sep, mask,
    bos, eos, as the paper orders the vocabulary."""
    data = json.loads(trained.to_str())["model"]
    specials = [OUR_STRINGS[n] for n in SPECIAL_ORDER]
    unk = OUR_STRINGS["unk"]
    if kind == "wordpiece":
        ordinary = [
            t for t, _ in sorted(data["vocab"].items(), key=lambda kv: kv[1]) if t not in specials
        ]
        vocab = {t: i for i, t in enumerate([*ordinary, *specials])}
        model = models.WordPiece(
            vocab,
            unk_token=unk,
            continuing_subword_prefix=data["continuing_subword_prefix"],
            max_input_chars_per_word=data["max_input_chars_per_word"],
        )
    else:
        pieces = [(p, s) for p, s in data["vocab"] if p not in specials]
        pieces += [(t, 0.0) for t in specials]
        model = models.Unigram(pieces, unk_id=len(pieces) - len(specials) + 1, byte_fallback=False)
    hf = HFTokenizer(model)
    hf.pre_tokenizer = trained.pre_tokenizer
    hf.decoder = trained.decoder
    _add_specials(hf, SPECIAL_ORDER)  # already in the vocabulary: marks them special
    return hf


def compare_kinds(
    text: str, corpus: Iterable[str], vocab_size: int = 500, kinds=KINDS
) -> list[tuple[str, list[str], int]]:
    """The same text tokenized by each kind: (kind, token strings, count)."""
    corpus = list(corpus)
    rows = []
    for kind in kinds:
        tok = train_tokenizer(kind, corpus, None if kind == "char" else vocab_size)
        enc = tok.encode(text)
        rows.append((kind, tok.token_strings(enc.ids), len(enc.ids)))
    return rows
