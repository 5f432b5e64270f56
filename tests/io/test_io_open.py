"""open_model: our own folders, training-run folders, and tokenizers rebuilt from the
vocabulary files of older Hugging Face folders."""

from __future__ import annotations

import json

import pytest
import torch
from tokenizers import pre_tokenizers

from explorer.core import ModelConfig, build_model
from explorer.io import CheckpointError, describe_pretrained, open_model, save_model
from explorer.tokenize import train_tokenizer

WORDS = ["the", "cat", "sat", "on", "mat", "a", "dog", "ran", "##s", "##ed"]


def _own(tmp_path, with_tokenizer: bool = True):
    tok = train_tokenizer("char", ["the cat sat on the mat"])
    cfg = ModelConfig(arch="decoder", vocab_size=tok.vocab_size, l_max=16, d_e=16, n_heads=2,
                      n_layers=1)
    model = build_model(cfg)
    save_model(model, tmp_path)
    if with_tokenizer:
        tok.save(tmp_path / "tokenizer.json")
    return model, tok


def test_open_our_own_folder(tmp_path):
    model, tok = _own(tmp_path)
    loaded, tokenizer, info = open_model(tmp_path)
    assert info["format"] == "transformer-explorer" and info["algorithm"] == 10
    assert info["parameters"] == model.num_parameters()
    assert tokenizer.encode("the cat").ids == tok.encode("the cat").ids
    x = torch.tensor([tok.encode("the cat").ids])
    assert torch.equal(loaded(x), model.eval()(x))
    assert info["load_seconds"] >= 0


def test_open_a_training_run_folder(tmp_path):
    _own(tmp_path / "checkpoint")
    _, tokenizer, info = open_model(tmp_path)
    assert info["folder"].endswith("checkpoint") and tokenizer is not None


def test_own_folder_without_tokenizer_says_so(tmp_path):
    _own(tmp_path, with_tokenizer=False)
    _, tokenizer, info = open_model(tmp_path)
    assert tokenizer is None and any("no tokenizer" in n for n in info["notes"])


def test_own_folder_with_broken_weights(tmp_path):
    _own(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"broken")
    with pytest.raises(CheckpointError, match="model.safetensors"):
        open_model(tmp_path)


def _bert_folder(tmp_path):
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    (tmp_path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    config = {"model_type": "bert", "architectures": ["BertModel"], "vocab_size": len(vocab),
              "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
              "intermediate_size": 16, "max_position_embeddings": 16}
    (tmp_path / "config.json").write_text(json.dumps(config))
    return tmp_path


def test_wordpiece_rebuilt_from_vocab_txt(tmp_path):
    T = pytest.importorskip("transformers", reason="transformers is needed for the reference")
    folder = _bert_folder(tmp_path)
    from explorer.io.folder_tokenizer import folder_tokenizer

    tokenizer, note = folder_tokenizer(folder, "bert")
    assert note == "rebuilt from vocab.txt"
    ref = T.BertTokenizer.from_pretrained(folder)
    text = "The cats sat on a mat, the dog ran!"
    assert tokenizer.encode_for_model(text) == ref(text)["input_ids"]


def test_byte_level_bpe_rebuilt_from_vocab_and_merges(tmp_path):
    T = pytest.importorskip("transformers", reason="transformers is needed for the reference")
    from explorer.io.folder_tokenizer import folder_tokenizer

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    merges = ["Ġ c", "a t", "Ġc at", "t h", "th e"]
    tokens = [*alphabet, "Ġc", "at", "Ġcat", "th", "the", "<|endoftext|>"]
    vocab = {tok: i for i, tok in enumerate(tokens)}
    (tmp_path / "vocab.json").write_text(json.dumps(vocab))
    (tmp_path / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    tokenizer, note = folder_tokenizer(tmp_path, "gpt2")
    assert note == "rebuilt from vocab.json + merges.txt"
    ref = T.GPT2Tokenizer.from_pretrained(tmp_path)
    text = "the cat sat, the cats!"
    assert tokenizer.encode(text).ids == ref(text)["input_ids"]
    assert tokenizer.decode(tokenizer.encode(text).ids) == text


def test_sentencepiece_only_folder_has_no_tokenizer_and_says_why(tmp_path):
    from explorer.io.folder_tokenizer import folder_tokenizer

    (tmp_path / "source.spm").write_bytes(b"\x00")
    tokenizer, note = folder_tokenizer(tmp_path, "marian")
    assert tokenizer is None and "source.spm" in note and "sentencepiece" in note


def test_describe_reads_only_the_config(tmp_path):
    info = describe_pretrained(_bert_folder(tmp_path))
    assert (info["family"], info["algorithm_name"], info["arch"]) == (
        "BERT", "ETransformer", "encoder")
    assert info["parameters"] > 0 and "no MLM head" in " ".join(info["notes"])


def test_describe_our_own_folder(tmp_path):
    model, _ = _own(tmp_path)
    info = describe_pretrained(tmp_path)
    assert info["format"] == "transformer-explorer" and info["parameters"] == (
        model.num_parameters())
