"""Training data generated at the level of ids, fresh every batch, for any vocabulary.

``data="induction-ids"`` trains on sequences of ``explorer.data.induction.
repeated_segment_ids``: random ids in which segments of varying length repeat at varying
distances. The ids are drawn from the model's WHOLE vocabulary (a char tokenizer's
special ids too): an id that never occurs in the data keeps an embedding the model never
learns to read, and in our measurements the crisp two-layer induction circuit formed
only when every id occurred (resources/scenes/README.md).

Every training example is a fresh sequence: ``TrainingData.draw_indices`` draws one seed
per example from the run's batch generator and ``sequences`` builds the sequences from
them, so a batch is reproducible (and a resumed run goes on drawing the same ones).
Validation is a fixed, seeded set of sequences.
"""

from __future__ import annotations

import random

import torch

from explorer.data.induction import ALPHABET, repeated_segment_ids

# name -> what it is (the Train tab's and the command line's data names)
GENERATED = {
    "induction-ids": "random ids of the whole vocabulary in which segments repeat at "
                     "varying distances, fresh every batch",
}
# the text a tokenizer is trained on for a generated source (its ids are what matter)
TOKENIZER_TEXT = ALPHABET
VALIDATION = 256  # validation sequences
SEED_SPACE = 1 << 62  # example seeds are drawn below this


class GeneratedIds:
    """The sequences of generated source ``name`` for a vocabulary of ``vocab_size``
    ids and sequences of ``length`` ids."""

    def __init__(self, name: str, vocab_size: int, length: int, seed: int = 0) -> None:
        if name not in GENERATED:
            raise ValueError(f"unknown generated data {name!r}: use one of "
                             f"{', '.join(GENERATED)}")
        if vocab_size < 2:
            raise ValueError(f"{name} needs a vocabulary of at least 2 ids, not {vocab_size}")
        self.name, self.vocab_size, self.length = name, int(vocab_size), int(length)
        # validation seeds come from their own stream: never a training sequence's seed
        rng = random.Random(f"{name}-validation-{seed}")
        self.validation = self.sequences([rng.randrange(SEED_SPACE) for _ in range(VALIDATION)])

    def sequences(self, seeds: torch.Tensor | list[int]) -> torch.Tensor:
        """A ``(len(seeds), length)`` int64 tensor: one sequence per seed."""
        rows = [repeated_segment_ids(random.Random(int(s)), self.length, self.vocab_size)
                for s in seeds]
        return torch.tensor(rows, dtype=torch.long).view(len(rows), self.length)

    def describe(self) -> str:
        return (f"{self.name}: {GENERATED[self.name]} ({self.vocab_size} ids, "
                f"{self.length} a sequence)")
