"""``transformer-explorer tokenize``: how a tokenizer splits a text (tokens, ids, offsets)."""

from __future__ import annotations

import argparse
import json
import sys

HELP = "Train or load a tokenizer and show how it splits a text."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--kind",
        default="bpe",
        choices=("char", "word", "bpe", "wordpiece", "unigram"),
        help="tokenizer kind to train (default bpe)",
    )
    parser.add_argument(
        "--vocab-size",
        type=int,
        default=500,
        help="vocabulary size, special tokens included (default 500)",
    )
    parser.add_argument(
        "--train",
        metavar="FILE",
        help="UTF-8 text file to train on (default: 3,000 generated sentences)",
    )
    parser.add_argument(
        "--tokenizer", metavar="JSON", help="load this tokenizer.json instead of training one"
    )
    parser.add_argument("--text", help="the text to tokenize (default: read standard input)")
    parser.add_argument(
        "--l-max", type=int, default=0, help="also show the paper's chunks of at most l_max tokens"
    )
    parser.add_argument("--save", metavar="JSON", help="save the tokenizer to this file")
    parser.add_argument("--merges", type=int, default=0, help="print the first N BPE merges")
    parser.add_argument("--json", action="store_true", help="print JSON")


def _corpus(path: str | None) -> list[str]:
    """The training text: the user's file, or a small deterministic generated sample."""
    if path:
        from explorer.data import read_text_file

        return read_text_file(path).splitlines()
    from explorer.tokenize.sample_text import generate_sentences

    return generate_sentences(3000, seed=0)


def _check(args: argparse.Namespace) -> None:
    if args.vocab_size < 1:
        raise ValueError(f"--vocab-size must be at least 1, not {args.vocab_size}")
    if args.l_max < 0:
        raise ValueError(f"--l-max must be at least 0, not {args.l_max}")
    if args.merges < 0:
        raise ValueError(f"--merges must be at least 0, not {args.merges}")
    if args.text is None and sys.stdin.isatty():
        raise ValueError("give the text to tokenize with --text, or pipe it on standard input")


def run(args: argparse.Namespace) -> int:
    from explorer.tokenize import load_tokenizer, token_labels, train_tokenizer

    try:
        _check(args)
        if args.tokenizer:
            tok = load_tokenizer(args.tokenizer)
        else:
            tok = train_tokenizer(args.kind, _corpus(args.train), args.vocab_size)
        text = args.text if args.text is not None else sys.stdin.read()
        enc = tok.encode(text)
        if args.save:
            tok.save(args.save)
    except (ValueError, OSError) as exc:
        print(f"tokenize: {exc}", file=sys.stderr)
        return 2
    shown = token_labels(tok, enc.ids)
    chunks = tok.chunk(enc.ids, args.l_max) if args.l_max > 0 else []
    if args.json:
        print(
            json.dumps(
                {
                    "kind": tok.kind,
                    "vocab_size": tok.vocab_size,
                    "special_ids": tok.special_ids,
                    "count": len(enc.ids),
                    "ids": enc.ids,
                    "tokens": enc.tokens,
                    "labels": shown,
                    "offsets": [list(o) for o in enc.offsets],
                    "chunks": chunks,
                    "merges": [list(m) for m in tok.merges()[: args.merges]],
                    "notes": enc.notes,
                },
                ensure_ascii=False,
            )
        )
        return 0
    print(f"{tok.name}: vocabulary {tok.vocab_size}, specials {tok.special_ids}")
    print(f"{len(enc.ids)} tokens")
    for note in enc.notes:
        print(f"note: {note}")
    for i, (tid, s, (a, b)) in enumerate(zip(enc.ids, shown, enc.offsets)):
        print(f"{i:5d}  {tid:6d}  {s:24}  [{a}, {b})")
    for n, chunk in enumerate(chunks):
        print(f"chunk {n + 1}/{len(chunks)}: {len(chunk)} tokens")
    for a, b in tok.merges()[: args.merges]:
        print(f"merge: {a!r} + {b!r}")
    return 0
