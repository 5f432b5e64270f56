"""The ``tokenize`` command, the tokenizer benchmark and the generated sample text."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from explorer.bench.tokenize import add_arguments
from explorer.bench.tokenize import run as run_tokenize_bench
from explorer.cli import main
from explorer.tokenize import load_tokenizer
from explorer.tokenize.sample_text import generate_sentences, generate_text

GPT2 = Path(__file__).parents[1] / "fixtures" / "tokenize" / "gpt2_tokenizer.json"


def _json(capsys, argv: list[str]) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_json_has_tokens_ids_and_offsets_into_the_text(capsys, tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat on the mat .\nthe dog sat on the log .\n" * 50)
    text = "the cat sat  on the log ."
    out = _json(capsys, ["tokenize", "--kind", "word", "--vocab-size", "40",
                         "--train", str(corpus), "--text", text, "--json", "--l-max", "3"])
    assert out["kind"] == "word" and out["count"] == 7
    assert out["tokens"] == ["the", "cat", "sat", "on", "the", "log", "."]
    assert [text[a:b] for a, b in out["offsets"]] == out["tokens"]
    assert out["chunks"] == [out["ids"][0:3], out["ids"][3:6], out["ids"][6:]]
    n = out["vocab_size"]
    assert [out["special_ids"][k] for k in ("mask", "bos", "eos")] == [n - 3, n - 2, n - 1]


def test_default_trains_on_generated_sample_and_saves(capsys, tmp_path):
    saved = tmp_path / "tok.json"
    out = _json(capsys, ["tokenize", "--kind", "bpe", "--vocab-size", "400",
                         "--text", "Hello 🎉 world", "--json", "--save", str(saved),
                         "--merges", "5"])
    assert out["count"] > 0 and len(out["merges"]) == 5
    assert load_tokenizer(saved).encode("Hello 🎉 world").ids == out["ids"]


def test_loads_a_tokenizer_file_and_prints_a_table(capsys):
    assert main(["tokenize", "--tokenizer", str(GPT2), "--text", "the old wizard"]) == 0
    out = capsys.readouterr().out
    assert "tokens" in out and "[0, " in out and "[13, 14)" in out  # offsets cover the text


def test_surrogates_are_replaced_and_said(capsys):
    out = _json(capsys, ["tokenize", "--kind", "char", "--text", "a\ud800b", "--json"])
    assert any("U+FFFD" in note for note in out["notes"])
    assert out["offsets"] == [[0, 1], [1, 2], [2, 3]]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--tokenizer", "{missing}"], "no such"),
        (["--tokenizer", "{bad}"], "bad.json"),
        (["--train", "{missing}"], "missing"),
        (["--vocab-size", "0"], "vocab-size"),
        (["--train", "{empty}"], "empty"),
    ],
)
def test_bad_input_exits_non_zero_with_a_message(capsys, tmp_path, argv, message):
    bad = tmp_path / "bad.json"
    bad.write_text('{"model": 3')
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    names = {"missing": str(tmp_path / "missing.txt"), "bad": str(bad), "empty": str(empty)}
    argv = [a.format(**names) for a in argv]
    assert main(["tokenize", *argv, "--text", "x"]) != 0
    err = capsys.readouterr().err
    assert message in err


def test_bench_quick_times_every_kind(capsys):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    result = run_tokenize_bench(parser.parse_args(["--quick", "--vocab-size", "300"]))
    assert set(result["kinds"]) == {"char", "word", "bpe", "wordpiece", "unigram"}
    for row in result["kinds"].values():
        assert row["train_s"] >= 0 and row["encode_s"] >= 0 and row["tokens"] > 0
    assert main(["bench", "tokenize", "--kinds", "nonsense"]) == 2
    assert "unknown kinds" in capsys.readouterr().err


def test_sample_text_is_deterministic_and_sized():
    assert generate_sentences(20, seed=3) == generate_sentences(20, seed=3)
    assert generate_sentences(20, seed=3) != generate_sentences(20, seed=4)
    lines = generate_text(10_000, seed=1)
    assert 10_000 <= sum(len(s) + 1 for s in lines) < 10_400
    assert all(s[-1] in ".?!" for s in lines)
