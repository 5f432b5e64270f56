"""The induction-head task: random tokens in which segments repeat.

A token that starts nothing is uniformly random, so no model can predict it (the loss
there stays at ``log(vocabulary size)``); inside a repeated segment each token follows the
same token as at its earlier occurrence, so a model that has formed an induction head
(attend to the token after the previous occurrence of the current token, copy it)
predicts it. The drop of the repeats' loss is the "watch it learn" moment.

The training data (``repeated_segment_ids``, the bundled files) repeats segments of
varying length (``SEGMENT`` tokens) at varying distances, so that no fixed offset finds
the earlier copy: a model has to find it by content, as the two-layer induction circuit
does (a previous-token head in one layer, an induction head in the next that keys on its
output). Each bundled line is a fresh sequence of ``LINE_LENGTH`` letters; the
``induction`` preset trains on ``induction-ids`` instead (``explorer.train.generated``:
fresh sequences over the model's whole vocabulary every batch).
``induction_ids`` (a random half and its copy) gives test sequences of any period.

Two forms: id lists and tensors drawn directly for any vocabulary size, and text lines
over ``a``-``z`` (ids mapped to letters: a char tokenizer and the bundled files).
"""

from __future__ import annotations

import random
import string
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

ALPHABET = string.ascii_lowercase
LINE_LENGTH = 127  # letters a line of the bundled files (128 characters with its newline)
SEGMENT = (4, 30)  # the shortest and the longest repeated segment
REACH = 48  # a repeat copies a piece that starts at most this far back (inside l_max 64)
P_REPEAT = 0.95  # the chance that the next piece repeats an earlier one (a new segment
# every ~20 pieces: most of a window is predictable from what came before)


def repeat_start(length: int) -> int:
    """The first position of the copy in a sequence of ``length`` tokens."""
    return (length + 1) // 2


def repeated_segment_ids(rng: random.Random, length: int, vocab_size: int, low: int = 0,
                         segment: tuple[int, int] = SEGMENT, p_repeat: float = P_REPEAT,
                         reach: int = REACH) -> list[int]:
    """``length`` ids in ``[low, vocab_size)``: segments of random ids, and repeats of them.

    From left to right, each next piece is, with chance ``p_repeat``, a repeat of the
    piece just before it or of one of the pieces that start at most ``reach`` ids back
    (repeats included, so the distance to the earlier copy varies from the piece's length
    to ``reach``); otherwise a new segment of ``segment[0]``-``segment[1]`` random ids.
    The last piece is cut at ``length``.
    """
    shortest, longest = segment
    if not 1 <= shortest <= longest:
        raise ValueError(f"need 1 <= shortest <= longest segment, got {segment}")
    if not 0 <= low < vocab_size:
        raise ValueError(f"need 0 <= low < vocab_size, got low={low}, vocab_size={vocab_size}")
    ids: list[int] = []
    pieces: list[tuple[int, list[int]]] = []  # (start, ids)
    while len(ids) < length:
        near = [p for start, p in pieces[:-1] if start >= len(ids) - reach]
        near += [p for _, p in pieces[-1:]]  # the piece just before, always
        if near and rng.random() < p_repeat:
            piece = rng.choice(near)
        else:
            piece = [rng.randrange(low, vocab_size)
                     for _ in range(rng.randint(shortest, longest))]
        pieces.append((len(ids), piece))
        ids.extend(piece)
    return ids[:length]


def sample_line(rng: random.Random, length: int = LINE_LENGTH, alphabet: str = ALPHABET
                ) -> str:
    """``length`` letters of ``alphabet`` in which segments repeat (``repeated_segment_ids``)."""
    ids = repeated_segment_ids(rng, length, len(alphabet))
    return "".join(alphabet[i] for i in ids)


def sample_lines(n: int, seed: int, length: int = LINE_LENGTH, alphabet: str = ALPHABET
                 ) -> list[str]:
    """``n`` induction lines from a seeded RNG."""
    rng = random.Random(seed)
    return [sample_line(rng, length, alphabet) for _ in range(n)]


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
