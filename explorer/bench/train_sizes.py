"""What ``bench train`` and ``bench train --nproc N`` both train: the model sizes and the
token stream (one module, so neither benchmark imports the other)."""

from __future__ import annotations

import random

# name: (layers, heads, d_e, l_max)
SIZES = {"small": (4, 4, 128, 64), "10m": (6, 6, 384, 128)}


def corpus(n_chars: int = 400_000, seed: int = 0) -> str:
    """Sentences of random made-up words, ``n_chars`` characters or a little more."""
    rng = random.Random(seed)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 8)))
             for _ in range(500)]
    out, size = [], 0
    while size < n_chars:
        sentence = " ".join(rng.choice(words) for _ in range(rng.randint(4, 12))) + ".\n"
        out.append(sentence)
        size += len(sentence)
    return "".join(out)
