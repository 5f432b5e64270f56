"""generate / fill-mask / classify on the bundled trained models (Algorithms 14, 15, 9)."""

from __future__ import annotations

import json

import pytest

from explorer.cli import main
from explorer.data import load_labelled, load_pairs, translate


def _json(capsys, argv) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_generate_is_repeatable_with_a_seed(capsys):
    argv = ["generate", "--prompt", "the old ", "--max-new", "30", "--seed", "3", "--json"]
    a = _json(capsys, argv)
    b = _json(capsys, argv)
    assert a["text"] == b["text"] and a["arch"] == "decoder"
    assert all(abs(sum(p for _, p in s["top"]) - 1) < 0.5 or s["top"] for s in a["steps"])


def test_seq2seq_translates_held_out_sentences(capsys):
    for source, target in load_pairs("translation", "test")[:5]:
        out = _json(capsys, ["generate", "--model", "default-seq2seq", "--prompt", source,
                             "--temperature", "0", "--json"])
        assert out["text"] == target == translate(source)


def test_fill_mask_ranks_candidates(capsys):
    out = _json(capsys, ["fill-mask", "--text", "the old wiz<mask>rd sees a cat .", "--json"])
    assert len(out) == 1
    cands = out[0]["candidates"]
    assert cands[0]["token"] == "a"
    assert [c["p"] for c in cands] == sorted((c["p"] for c in cands), reverse=True)


def test_classify_gives_probabilities(capsys):
    texts, labels, names = load_labelled("sentiment", "test")
    for text, label in list(zip(texts, labels))[:5]:
        out = _json(capsys, ["classify", "--text", text, "--json"])
        assert abs(sum(out.values()) - 1) < 1e-3
        assert max(out, key=out.get) == names[label]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["generate", "--model", "default-encoder", "--prompt", "x"], "does not generate"),
        (["fill-mask", "--text", "no mask here"], "no mask"),
        (["classify", "--model", "default-decoder", "--text", "x"], "class head"),
        (["generate", "--model", "/nonexistent/folder"], "no such folder, nor a bundled model"),
    ],
)
def test_clear_errors(capsys, argv, message):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_each_bundled_model_is_fed_as_it_was_trained():
    from explorer.commands.model_arg import model_input_ids, open_model_arg

    dec, tok, _ = open_model_arg("default-decoder")
    assert model_input_ids(dec, tok, "the cat") == tok.encode("the cat").ids
    assert model_input_ids(dec, tok, "") == tok.encode("\n").ids  # where sentences start
    ed, tok, _ = open_model_arg("default-seq2seq")
    assert model_input_ids(ed, tok, "the red girl", which=1) == tok.encode("the red girl").ids
    assert model_input_ids(ed, tok, "vogi")[0] == tok.special_ids["bos"]
    clf, tok, _ = open_model_arg("default-classifier")
    ids = model_input_ids(clf, tok, "the girl laughs .")
    assert ids == [tok.special_ids["cls"], *tok.encode("the girl laughs .").ids]
