"""Token ids of long texts streamed into int32 arrays: the same ids as one encode."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.tokenize import KINDS, stream, train_tokenizer
from explorer.tokenize.stream import encode_ids
from explorer.train import DataSource, TrainingData

CORPUS = ["the old wizard sees a red apple .", "two small dogs chase the cat ."] * 20
# unknown characters, a typed special token, emoji, lone surrogates, tabs, blank lines
LONG = ("the old wizard <mask> sees a red apple .\n\ntwo dogs 🎉 chase é the cat ,\t"
        "Zebra \ud800 QUIZ\n") * 3000


@pytest.mark.parametrize("kind", KINDS)
def test_streamed_ids_equal_one_encode(kind, monkeypatch):
    monkeypatch.setattr(stream, "CHUNK_CHARS", 5000)  # many pieces
    tok = train_tokenizer(kind, CORPUS, None if kind == "char" else 150)
    ids = encode_ids(tok, LONG)
    assert ids.dtype == np.int32
    assert ids.tolist() == tok.encode(LONG).ids


def test_many_ids_go_to_a_memory_mapped_file(monkeypatch):
    tok = train_tokenizer("char", CORPUS)
    ids = encode_ids(tok, LONG, memmap_above=10_000)
    assert isinstance(ids, np.memmap) and ids.dtype == np.int32
    assert ids.tolist() == tok.encode(LONG).ids


def test_a_check_can_stop_the_encoding(monkeypatch):
    monkeypatch.setattr(stream, "CHUNK_CHARS", 1000)
    tok = train_tokenizer("char", CORPUS)
    calls = []

    def check():
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        encode_ids(tok, LONG, check)
    assert len(calls) == 3


def test_training_text_is_held_as_int32_and_batches_as_int64():
    tok = train_tokenizer("char", CORPUS)
    data = TrainingData(DataSource("next-token", "long", text=LONG), tok, l_max=32)
    assert data.train_ids.dtype == torch.int32 and data.val_x.dtype == torch.int32
    whole = torch.tensor(tok.encode(LONG).ids)
    assert torch.equal(torch.cat([data.train_ids, data.val_ids]).long(), whole)
    batch = data.train_batch(4, torch.Generator().manual_seed(0))
    assert batch.x.dtype == torch.long and batch.x.shape == (4, 32)
    assert data.val_batches(4, 8)[0].x.dtype == torch.long
