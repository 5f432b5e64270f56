"""``bench tokenize``: training each tokenizer kind on ~5 MB and encoding ~1 MB.

The text comes from ``explorer.tokenize.sample_text`` (seeded made-up words with Zipf
frequencies); the encoded text has another seed, so it is unseen. Also times counting
a 10x longer paste with ``count_tokens`` (what the tokenization view does off the GUI
thread). Numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import time


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--train-mb", type=float, default=5.0, help="training text (MB)")
    parser.add_argument("--encode-mb", type=float, default=1.0, help="tokenized text (MB)")
    parser.add_argument(
        "--vocab-size", type=int, default=1000, help="N_V for every kind but char (default 1000)"
    )
    parser.add_argument(
        "--kinds", default="char,word,bpe,wordpiece,unigram", help="comma-separated kinds"
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes (for tests)")


def _text(megabytes: float, seed: int) -> list[str]:
    """Generated sentences (Zipf-distributed made-up words), ``megabytes`` of them."""
    from explorer.tokenize.sample_text import generate_text

    return generate_text(int(megabytes * 1e6), seed=seed)


def _kinds(spec: str) -> list[str]:
    from explorer.tokenize import KINDS

    kinds = [k.strip() for k in spec.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise ValueError(f"unknown kinds {unknown}: use some of {', '.join(KINDS)}")
    return kinds


def run(args: argparse.Namespace) -> dict:
    from explorer.tokenize import train_tokenizer

    kinds = _kinds(args.kinds)
    if args.train_mb <= 0 or args.encode_mb <= 0 or args.vocab_size < 16:
        raise ValueError("sizes must be positive and the vocabulary at least 16")
    train_mb, encode_mb = (0.05, 0.02) if args.quick else (args.train_mb, args.encode_mb)
    t0 = time.perf_counter()
    corpus = _text(train_mb, seed=1)
    sample = "\n".join(_text(encode_mb, seed=2))  # unseen text
    paste = "\n".join([sample] * 10)
    encode_mb = len(sample.encode("utf-8")) / 1e6
    result: dict = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "train_mb": round(sum(len(s) + 1 for s in corpus) / 1e6, 3),
        "encode_mb": round(encode_mb, 3),
        "generate_s": round(time.perf_counter() - t0, 3),
        "vocab_size": args.vocab_size,
        "kinds": {},
    }
    for kind in kinds:
        t0 = time.perf_counter()
        tok = train_tokenizer(kind, corpus, None if kind == "char" else args.vocab_size)
        t1 = time.perf_counter()
        n = len(tok.encode(sample).ids)
        t2 = time.perf_counter()
        tok.count_tokens(paste)
        t3 = time.perf_counter()
        result["kinds"][kind] = {
            "train_s": round(t1 - t0, 3),
            "encode_s": round(t2 - t1, 3),
            "encode_mb_per_s": round(encode_mb / max(t2 - t1, 1e-9), 2),
            "count_10x_s": round(t3 - t2, 3),
            "tokens": n,
            "chars_per_token": round(len(sample) / max(1, n), 2),
            "vocab_size": tok.vocab_size,
        }
    return result
