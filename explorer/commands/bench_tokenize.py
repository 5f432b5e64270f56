"""Tokenizer benchmark: train each kind on ~5 MB of text, tokenize ~1 MB.

``run_tokenize_bench(args) -> dict`` is what ``transformer-explorer bench tokenize``
calls; ``python -m explorer.commands.bench_tokenize`` runs it alone and prints JSON.
The text comes from ``explorer.tokenize.sample_text`` (seeded, made-up words with
Zipf frequencies): the training and the encoded text use different seeds, so the
encoded text is unseen. Numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

HELP = "Time training each tokenizer kind on ~5 MB of text and tokenizing ~1 MB."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Sizes, vocabulary and which kinds to time."""
    parser.add_argument("--train-mb", type=float, default=5.0, help="training text (MB)")
    parser.add_argument("--encode-mb", type=float, default=1.0, help="tokenized text (MB)")
    parser.add_argument("--vocab-size", type=int, default=1000,
                        help="vocabulary size for every kind but char (default 1000)")
    parser.add_argument("--kinds", default="char,word,bpe,wordpiece,unigram",
                        help="comma-separated kinds to time (default: all five)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes (0.05 MB and 0.02 MB), for tests")


def _lines(megabytes: float, seed: int) -> list[str]:
    from explorer.tokenize.sample_text import generate_text

    return generate_text(int(megabytes * 1_000_000), seed=seed)


def run_tokenize_bench(args: argparse.Namespace) -> dict:
    """Seconds to train each kind and to encode the unseen text, with token counts."""
    from explorer.tokenize import KINDS, train_tokenizer

    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise ValueError(f"unknown kinds {unknown}: use some of {', '.join(KINDS)}")
    if args.train_mb <= 0 or args.encode_mb <= 0 or args.vocab_size < 16:
        raise ValueError("sizes must be positive and the vocabulary at least 16")
    train_mb, encode_mb = (0.05, 0.02) if args.quick else (args.train_mb, args.encode_mb)
    corpus = _lines(train_mb, seed=1)
    sample = "\n".join(_lines(encode_mb, seed=2))
    train_bytes = sum(len(s.encode("utf-8")) + 1 for s in corpus)
    result: dict = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "train_mb": round(train_bytes / 1e6, 3),
        "encode_mb": round(len(sample.encode("utf-8")) / 1e6, 3),
        "vocab_size": args.vocab_size,
        "kinds": {},
    }
    for kind in kinds:
        t0 = time.perf_counter()
        tok = train_tokenizer(kind, corpus, None if kind == "char" else args.vocab_size)
        t1 = time.perf_counter()
        enc = tok.encode(sample)
        t2 = time.perf_counter()
        result["kinds"][kind] = {
            "train_s": round(t1 - t0, 3),
            "encode_s": round(t2 - t1, 3),
            "encode_mb_per_s": round(result["encode_mb"] / max(t2 - t1, 1e-9), 2),
            "tokens": len(enc.ids),
            "chars_per_token": round(len(sample) / max(1, len(enc.ids)), 2),
            "vocab_size": tok.vocab_size,
        }
    return result


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark alone and print its JSON."""
    parser = argparse.ArgumentParser(prog="python -m explorer.commands.bench_tokenize",
                                     description=HELP)
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        result = run_tokenize_bench(args)
    except ValueError as exc:
        print(f"bench tokenize: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
