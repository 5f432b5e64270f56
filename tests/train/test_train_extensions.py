"""Training a Llama-style model (the paper's extensions) from the command line."""

from __future__ import annotations

import json

from explorer.cli import main
from explorer.core import load_model


def test_train_a_rotary_swiglu_grouped_query_model(tmp_path, capsys) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat on the mat.\na dog ran to the park.\n" * 100)
    out = tmp_path / "run"
    code = main(["train", "--preset", "tiny", "--data", str(corpus), "--out", str(out),
                 "--steps", "30", "--n-heads", "4", "--n-kv-heads", "2", "--positions",
                 "rotary", "--activation", "swiglu", "--norm", "rms", "--quiet"])
    assert code == 0, capsys.readouterr().err
    model = load_model(out / "checkpoint")
    cfg = model.cfg
    assert (cfg.positions, cfg.activation, cfg.norm, cfg.n_kv_heads) == (
        "rotary", "swiglu", "rms", 2)
    assert len(cfg.extensions) == 3
    losses = [json.loads(line)["loss"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert losses[-1] < losses[0]


def test_bad_kv_heads_says_why(tmp_path, capsys) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat.\n" * 50)
    code = main(["train", "--preset", "tiny", "--data", str(corpus), "--out",
                 str(tmp_path / "r"), "--n-heads", "4", "--n-kv-heads", "3", "--quiet"])
    assert code == 1 and "multiple of n_kv_heads" in capsys.readouterr().err
