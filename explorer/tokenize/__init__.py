"""Tokenization on Hugging Face ``tokenizers``: char, word, BPE, WordPiece, Unigram.

``train_tokenizer(kind, texts, vocab_size)`` and ``load_tokenizer(path)`` return a
``Tokenizer`` with ``encode`` (ids, tokens, character offsets), ``decode``,
``special_ids``, ``chunk`` (the paper's chunking at l_max) and ``merges``.
``token_label(tokenizer, id)`` is the one way a token is shown (``display``).
"""

from explorer.tokenize.display import (
    token_label,
    token_labels,
    visible,
    vocabulary_labels,
)
from explorer.tokenize.tokenizer import (
    KIND_LABELS,
    KINDS,
    Encoding,
    Tokenizer,
    TokenizerFileError,
    clean_text,
    load_tokenizer,
    used_vocabulary,
)
from explorer.tokenize.training import compare_kinds, train_tokenizer

__all__ = [
    "KINDS",
    "KIND_LABELS",
    "Encoding",
    "Tokenizer",
    "TokenizerFileError",
    "clean_text",
    "compare_kinds",
    "load_tokenizer",
    "token_label",
    "token_labels",
    "train_tokenizer",
    "used_vocabulary",
    "visible",
    "vocabulary_labels",
]
