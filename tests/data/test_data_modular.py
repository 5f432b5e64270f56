"""Modular addition (grokking): the table, and the trainer's split of it."""

import pytest

from explorer.data import modular, registry
from explorer.train.datasets import TrainingData
from explorer.train.runs import make_tokenizer
from explorer.train.sources import load_source


def test_the_table_holds_every_pair_once_with_its_sum():
    lines = modular.modular_lines(7)
    assert len(lines) == 49 and len(set(lines)) == 49
    for line in lines:
        a, b, eq, c = line.split()
        assert eq == "=" and int(c) == (int(a) + int(b)) % 7
    with pytest.raises(ValueError):
        modular.modular_line(7, 0, 7)


def test_the_bundled_file_is_the_table():
    assert registry.load_lines("modular") == modular.modular_lines(modular.P)


def _split(seed: int, val_fraction: float = 0.6) -> tuple[set, set]:
    source = load_source("last-token", "modular")
    tok = make_tokenizer("word", source)
    data = TrainingData(source, tok, l_max=4, val_fraction=val_fraction, seed=seed)
    rows = [tuple(r) for r in data.x_all.tolist()]
    return {rows[i] for i in data.train_idx.tolist()}, {rows[i] for i in data.val_idx.tolist()}


def test_the_split_has_no_overlap_covers_every_pair_and_follows_the_seed():
    train, val = _split(0)
    p = modular.P
    assert not train & val
    assert len(train) + len(val) == p * p
    assert len(train) == p * p - int(p * p * 0.6)  # 40% of the pairs to train on
    assert _split(0) == (train, val)
    assert _split(1)[0] != train


def test_a_full_batch_takes_each_training_example_once():
    source = load_source("last-token", "modular")
    data = TrainingData(source, make_tokenizer("word", source), 4, 0.6, 0)
    import torch

    idx = data.draw_indices(10**6, torch.Generator().manual_seed(0))
    assert sorted(idx.tolist()) == list(range(data.n_train))
    batch = data.batch_at(idx)
    assert batch.x.shape == (data.n_train, 4) and batch.x_mask is None
