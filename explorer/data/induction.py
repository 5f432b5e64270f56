"""The induction-head task: a random sequence followed by a copy of itself.

The first half of each sequence is uniformly random, so no model can predict
it (the loss there stays at ``log(vocabulary size)``); the second half repeats
the first, so a model that has formed an induction head (attend to the token
after the previous occurrence of the current token, copy it) predicts it
perfectly. The drop of the second-half loss is the "watch it learn" moment.

Two forms: text lines over ``a``-``z`` (for a char tokenizer and the bundled
files), and id tensors drawn directly for any vocabulary size.
"""

from __future__ import annotations

import random
import string
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

ALPHABET = string.ascii_lowercase
HALF_LENGTH = 24  # letters before the repeat in the bundled files; lines are twice as long


def repeat_start(length: int) -> int:
    """The first position of the copy in a sequence of ``length`` tokens."""
    return (length + 1) // 2


def sample_line(rng: random.Random, half: int = HALF_LENGTH, alphabet: str = ALPHABET) -> str:
    """``half`` random letters followed by the same letters again."""
    segment = "".join(rng.choice(alphabet) for _ in range(half))
    return segment + segment


def sample_lines(n: int, seed: int, half: int = HALF_LENGTH, alphabet: str = ALPHABET
                 ) -> list[str]:
    """``n`` induction lines from a seeded RNG."""
    rng = random.Random(seed)
    return [sample_line(rng, half, alphabet) for _ in range(n)]


def induction_ids(
    batch: int,
    length: int,
    vocab_size: int,
    seed: int | None = None,
    *,
    low: int = 0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """A ``(batch, length)`` int64 tensor: random ids in ``[low, vocab_size)``, then a copy.

    Positions ``repeat_start(length):`` repeat positions ``0:length // 2``.
    ``low`` keeps special-token ids (pad, bos, ...) below it out of the
    sequences. Pass ``seed`` for a fixed batch or ``generator`` to draw a stream.
    """
    import torch

    if length < 2:
        raise ValueError(f"length must be at least 2, not {length}")
    if not 0 <= low < vocab_size:
        raise ValueError(f"need 0 <= low < vocab_size, got low={low}, vocab_size={vocab_size}")
    if generator is None and seed is not None:
        generator = torch.Generator().manual_seed(seed)
    start = repeat_start(length)
    first = torch.randint(low, vocab_size, (batch, start), generator=generator)
    return torch.cat([first, first[:, : length - start]], dim=1)
