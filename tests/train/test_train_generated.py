"""Generated training data (``induction-ids``): fresh id-level sequences over the whole
vocabulary, and the ``induction`` preset's runs trained on them."""

from __future__ import annotations

import json

import pytest
import torch

from explorer.cli import main
from explorer.tokenize import train_tokenizer
from explorer.train import bundled_names, load_source
from explorer.train.datasets import TrainingData
from explorer.train.generated import GeneratedIds
from explorer.train.snapshots import snapshot_tokenizer


def copy_distances(row: list[int], width: int = 4) -> list[int]:
    """For each position that ends a run of ``width`` ids seen before, the nearest
    distance back to that earlier run."""
    found = []
    for t in range(width, len(row)):
        piece = row[t - width + 1 : t + 1]
        for d in range(1, t - width + 2):
            if row[t - width + 1 - d : t + 1 - d] == piece:
                found.append(d)
                break
    return found


def test_sequences_use_every_id_and_repeat_at_varying_distances() -> None:
    gen = GeneratedIds("induction-ids", vocab_size=37, length=64, seed=0)
    x = gen.sequences(list(range(200)))
    assert x.shape == (200, 64) and x.dtype == torch.long
    assert set(x.unique().tolist()) == set(range(37))  # every id, specials included
    distances = [d for row in x.tolist() for d in copy_distances(row)]
    assert len(distances) > 0.5 * x.numel()  # most of a sequence repeats what came before
    assert len(set(distances)) >= 20  # ... from no one fixed distance
    assert torch.equal(gen.sequences([5, 6]), x[5:7])  # a seed is one sequence
    again = GeneratedIds("induction-ids", vocab_size=37, length=64, seed=0)
    assert torch.equal(again.validation, gen.validation)  # a fixed validation set
    assert not torch.equal(GeneratedIds("induction-ids", 37, 64, seed=1).validation,
                           gen.validation)


def test_training_data_draws_fresh_sequences_over_the_tokenizer_vocabulary() -> None:
    source = load_source("next-token", "induction-ids")
    tok = train_tokenizer("char", source.texts())
    data = TrainingData(source, tok, l_max=32)
    gen = torch.Generator().manual_seed(0)
    first = data.batch_at(data.draw_indices(64, gen)).x
    second = data.batch_at(data.draw_indices(64, gen)).x
    assert first.shape == (64, 32) and not torch.equal(first, second)
    special = set(tok.special_ids.values()) - {None}
    assert special and special <= set(torch.cat([first, second]).unique().tolist())
    assert int(torch.cat([first, second]).max()) == tok.vocab_size - 1
    assert data.val_batches(32)[0].x.shape == (32, 32)
    assert "induction-ids" in bundled_names()  # the Train tab offers it
    with pytest.raises(ValueError, match="next-token"):
        load_source("masked", "induction-ids")


def test_induction_preset_run_trains_on_the_generated_ids(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    args = ["train", "--preset", "induction", "--steps", "6", "--snapshot-every", "3",
            "--val-every", "3", "--out", str(out)]
    assert main(args) == 0
    state = json.loads((out / "checkpoint" / "trainer.json").read_text())
    assert state["info"]["data"] == "induction-ids"
    snaps = sorted(p.name for p in (out / "snapshots").glob("step-*.safetensors"))
    assert snaps == [f"step-{s:08d}.safetensors" for s in (0, 3, 6)]
    config = json.loads((out / "snapshots" / "config.json").read_text())
    assert config["vocab_size"] == snapshot_tokenizer(out).vocab_size
    assert "induction-ids" in capsys.readouterr().err  # the run says what it trains on
    assert main(["train", "--resume", str(out), "--steps", "8", "--quiet"]) == 0
