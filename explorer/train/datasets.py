"""Token windows and padded minibatches for the four tasks, with a train/validation split.

Text (next-token, masked) is tokenized piece by piece into one int32 array (memory-mapped
when large, ``explorer.tokenize.stream``); training windows of l_max tokens start
at random offsets in the training part of the token stream, validation windows are the
fixed, non-overlapping windows of its last part. Pairs, labelled lines and the lines of
the last-token task are split example-wise after a seeded shuffle; a batch as large as
the training examples takes each of them once (full batch). Batches live on the CPU; the
loop moves them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import torch

from explorer.train.objectives import Batch
from explorer.train.sources import DataSource


class Tokenizer(Protocol):
    """What training needs from a tokenizer (explorer.tokenize provides it)."""

    vocab_size: int
    special_ids: dict[str, int]

    def encode(self, text: str) -> Any: ...  # .ids

    def decode(self, ids: list[int]) -> str: ...


def special_id(tokenizer: Tokenizer, *names: str) -> int | None:
    """The id of the first special token among ``names`` the tokenizer has."""
    ids = getattr(tokenizer, "special_ids", {}) or {}
    for name in names:
        if ids.get(name) is not None:
            return int(ids[name])
    return None


def _encode(tokenizer: Tokenizer, text: str) -> list[int]:
    return list(tokenizer.encode(text).ids)


class TrainingData:
    """The tokenized examples of one run and the batches drawn from them."""

    def __init__(
        self,
        source: DataSource,
        tokenizer: Tokenizer,
        l_max: int,
        val_fraction: float = 0.1,
        seed: int = 0,
        check: Callable[[], None] | None = None,
    ) -> None:
        """``check`` is called between pieces of the work (``TrainControl.check`` stops
        a long preparation by raising)."""
        if not 0.0 < val_fraction < 1.0:
            raise ValueError(f"val_fraction must be between 0 and 1, not {val_fraction}")
        self.source, self.tokenizer, self.task = source, tokenizer, source.task
        self.l_max, self.val_fraction, self.seed = l_max, val_fraction, seed
        self.pad_id = special_id(tokenizer, "pad") or 0
        self.mask_id = special_id(tokenizer, "mask")
        self.bos_id = special_id(tokenizer, "bos", "cls")
        self.eos_id = special_id(tokenizer, "eos", "sep")
        self.labels: list[str] = []
        self.truncated = 0  # examples cut to l_max
        self.generated: Any = None  # a GeneratedIds for a generated source
        self._check = check or (lambda: None)
        if self.task in ("next-token", "masked"):
            self._prepare_text()
        elif self.task == "seq2seq":
            self._prepare_pairs()
        elif self.task == "last-token":
            self._prepare_lines()
        else:
            self._prepare_labelled()

    # -- preparation -----------------------------------------------------------------
    def _token_ids(self) -> torch.Tensor:
        """The whole text's ids as int32 (streamed: no per-token Python objects)."""
        from explorer.tokenize import Tokenizer as OurTokenizer
        from explorer.tokenize.stream import encode_ids

        if isinstance(self.tokenizer, OurTokenizer):
            return torch.from_numpy(encode_ids(self.tokenizer, self.source.text, self._check))
        return torch.tensor(_encode(self.tokenizer, self.source.text), dtype=torch.int32)

    def _prepare_text(self) -> None:
        if self.source.generated:
            self._prepare_generated()
            return
        ids = self._token_ids()
        need = 2 * self.l_max
        if ids.numel() < need:
            raise ValueError(
                f"{self.source.name}: {ids.numel()} tokens is too short: need at least {need} "
                f"(one training and one validation window of l_max={self.l_max})"
            )
        n_val = max(self.l_max, int(ids.numel() * self.val_fraction))
        self.train_ids, self.val_ids = ids[:-n_val], ids[-n_val:]
        if self.train_ids.numel() < self.l_max:
            raise ValueError(f"{self.source.name}: too short for one training window")
        self.n_train = self.train_ids.numel() - self.l_max + 1
        n_windows = self.val_ids.numel() // self.l_max
        self.val_x = self.val_ids[: n_windows * self.l_max].view(n_windows, self.l_max)
        self.n_val = n_windows

    def _prepare_generated(self) -> None:
        """Fresh sequences every batch (``explorer.train.generated``); the training
        "examples" are the seeds ``draw_indices`` draws."""
        from explorer.train.generated import SEED_SPACE, GeneratedIds

        self.generated = GeneratedIds(self.source.generated, int(self.tokenizer.vocab_size),
                                      self.l_max, self.seed)
        self.val_x = self.val_ids = self.generated.validation
        self.n_train, self.n_val = SEED_SPACE, len(self.val_x)

    def _split(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        if n < 2:
            raise ValueError(f"{self.source.name}: need at least 2 examples, found {n}")
        order = torch.randperm(n, generator=torch.Generator().manual_seed(self.seed))
        n_val = min(n - 1, max(1, int(n * self.val_fraction)))
        return order[n_val:], order[:n_val]

    def _pad(self, rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        width = max(len(r) for r in rows)
        out = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        lengths = torch.tensor([len(r) for r in rows])
        for i, r in enumerate(rows):
            out[i, : len(r)] = torch.tensor(r, dtype=torch.long)
        return out, lengths

    def _cut(self, ids: list[int]) -> list[int]:
        if len(ids) > self.l_max:
            self.truncated += 1
            return ids[: self.l_max]
        return ids

    def _prepare_pairs(self) -> None:
        if self.bos_id is None or self.eos_id is None:
            raise ValueError("seq2seq needs a tokenizer with bos and eos tokens")
        z_rows, x_rows = [], []
        for n, (z_text, x_text) in enumerate(self.source.pairs):
            if n % 4096 == 0:
                self._check()
            z_rows.append(self._cut(_encode(self.tokenizer, z_text) or [self.pad_id]))
            x_ids = [self.bos_id, *_encode(self.tokenizer, x_text), self.eos_id]
            x_rows.append(self._cut(x_ids))
        self.z_all, self.z_len = self._pad(z_rows)
        self.x_all, self.x_len = self._pad(x_rows)
        self.train_idx, self.val_idx = self._split(len(x_rows))
        self.n_train, self.n_val = len(self.train_idx), len(self.val_idx)

    def _prepare_lines(self) -> None:
        """Each non-empty line is one example, scored on its last token."""
        rows = []
        for n, line in enumerate(t for t in self.source.text.splitlines() if t.strip()):
            if n % 4096 == 0:
                self._check()
            ids = self._cut(_encode(self.tokenizer, line))
            if len(ids) < 2:
                raise ValueError(f"{self.source.name}: line {n + 1} has {len(ids)} token(s); "
                                 "the last-token task needs a prompt and its answer")
            rows.append(ids)
        self.x_all, self.x_len = self._pad(rows)
        self.train_idx, self.val_idx = self._split(len(rows))
        self.n_train, self.n_val = len(self.train_idx), len(self.val_idx)

    def _prepare_labelled(self) -> None:
        cls = special_id(self.tokenizer, "cls", "bos")
        cls = cls if cls is not None else self.pad_id
        found = sorted({label for label, _ in self.source.labelled})
        self.labels = list(self.source.label_names) or found
        index = {label: i for i, label in enumerate(self.labels)}
        rows = [self._cut([cls, *_encode(self.tokenizer, t)]) for _, t in self.source.labelled]
        self.x_all, self.x_len = self._pad(rows)
        self.y_all = torch.tensor([index[label] for label, _ in self.source.labelled])
        self.train_idx, self.val_idx = self._split(len(rows))
        self.n_train, self.n_val = len(self.train_idx), len(self.val_idx)

    # -- batches ---------------------------------------------------------------------
    def _rows(self, idx: torch.Tensor) -> Batch:
        x_len = self.x_len[idx]
        width = int(x_len.max())
        x = self.x_all[idx, :width]
        x_mask = torch.arange(width)[None, :] < x_len[:, None]
        if self.task == "seq2seq":
            z_len = self.z_len[idx]
            z_width = int(z_len.max())
            z = self.z_all[idx, :z_width]
            z_mask = torch.arange(z_width)[None, :] < z_len[:, None]
            n = int(x_len.sum() + z_len.sum())
            return Batch(x, x_mask, z, z_mask, n_tokens=n)
        if self.task == "classify":
            return Batch(x, x_mask, labels=self.y_all[idx], n_tokens=int(x_len.sum()))
        if bool((x_len == width).all()):  # last-token: no padding, no mask to apply
            x_mask = None
        return Batch(x, x_mask, n_tokens=int(x_len.sum()))

    def train_batch(self, batch_size: int, generator: torch.Generator) -> Batch:
        """A random minibatch from the training part."""
        return self.batch_at(self.draw_indices(batch_size, generator))

    def draw_indices(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` random training examples (window starts for text), drawn with
        ``generator``: the ids only, nothing is read yet (``batch_at`` reads them).
        Examples (not text windows) asked for at least ``n_train`` at a time: each
        training example once, in order (full-batch training)."""
        if n >= self.n_train and self.task not in ("next-token", "masked"):
            return torch.arange(self.n_train)
        return torch.randint(0, self.n_train, (n,), generator=generator)

    def batch_at(self, indices: torch.Tensor) -> Batch:
        """The minibatch of the training examples ``indices`` (from ``draw_indices``)."""
        if self.generated is not None:
            x = self.generated.sequences(indices)
            return Batch(x, None, n_tokens=x.numel())
        if self.task in ("next-token", "masked"):
            x = self.train_ids[indices[:, None] + torch.arange(self.l_max)].long()
            return Batch(x, None, n_tokens=x.numel())
        return self._rows(self.train_idx[indices])

    def val_batches(self, batch_size: int, max_examples: int = 512) -> list[Batch]:
        """The fixed validation minibatches (the same every time)."""
        batches = []
        n = min(self.n_val, max_examples)
        for start in range(0, n, batch_size):
            stop = min(n, start + batch_size)
            if self.task in ("next-token", "masked"):
                x = self.val_x[start:stop].long()
                batches.append(Batch(x, None, n_tokens=x.numel()))
            else:
                batches.append(self._rows(self.val_idx[start:stop]))
        return batches

    def val_example(self, i: int = 0) -> dict[str, Any]:
        """One validation example as ids, for samples: x (and z, label)."""
        if self.task in ("next-token", "masked"):
            return {"x": self.val_x[i % self.n_val].tolist()}
        j = int(self.val_idx[i % self.n_val])
        ex: dict[str, Any] = {"x": self.x_all[j, : int(self.x_len[j])].tolist()}
        if self.task == "seq2seq":
            ex["z"] = self.z_all[j, : int(self.z_len[j])].tolist()
        elif self.task == "classify":
            ex["label"] = self.labels[int(self.y_all[j])]
        return ex

    def describe(self) -> str:
        if self.generated is not None:
            return f"{self.generated.describe()}; validation {self.n_val} sequences"
        unit = "tokens" if self.task in ("next-token", "masked") else "examples"
        n_train = self.train_ids.numel() if unit == "tokens" else self.n_train
        n_val = self.val_ids.numel() if unit == "tokens" else self.n_val
        return f"{self.source.describe()}; train {n_train:,} {unit}, validation {n_val:,}"
