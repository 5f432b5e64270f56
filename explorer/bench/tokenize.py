"""``bench tokenize``: training each tokenizer kind on ~5 MB and encoding ~1 MB."""

from __future__ import annotations

import argparse
import time


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--train-mb", type=float, default=5.0, help="training text size (MB)")
    parser.add_argument("--encode-mb", type=float, default=1.0, help="encoded text size (MB)")
    parser.add_argument("--vocab-size", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (for tests)")


def _text(megabytes: float, seed: int) -> list[str]:
    """Generated sentences (Zipf-distributed made-up words), ``megabytes`` of them."""
    from explorer.tokenize.sample_text import generate_text

    return generate_text(int(megabytes * 1e6), seed=seed)


def run(args: argparse.Namespace) -> dict:
    from explorer.tokenize import KINDS, train_tokenizer

    train_mb, encode_mb = (0.05, 0.02) if args.quick else (args.train_mb, args.encode_mb)
    corpus = _text(train_mb, seed=1)
    sample = "\n".join(_text(encode_mb, seed=2))  # unseen text
    result: dict = {
        "train_chars": sum(len(s) + 1 for s in corpus),
        "encode_chars": len(sample),
        "vocab_size": args.vocab_size,
        "kinds": {},
    }
    for kind in KINDS:
        t0 = time.perf_counter()
        tok = train_tokenizer(kind, corpus, args.vocab_size)
        t1 = time.perf_counter()
        n = len(tok.encode(sample).ids)
        t2 = time.perf_counter()
        result["kinds"][kind] = {
            "train_s": round(t1 - t0, 3),
            "encode_s": round(t2 - t1, 3),
            "tokens": n,
            "chars_per_token": round(len(sample) / max(1, n), 2),
            "vocab_size": tok.vocab_size,
        }
    return result
