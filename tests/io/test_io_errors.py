"""Bad model folders give a CheckpointError that names the file and what is wrong."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from explorer.io import CheckpointError, describe_pretrained, load_pretrained, open_model

GPT2_CONFIG = {
    "model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": 50,
    "n_positions": 16, "n_embd": 16, "n_layer": 1, "n_head": 2,
    "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5,
}


def _gpt2_tensors() -> dict[str, torch.Tensor]:
    """A complete GPT-2 state dict for GPT2_CONFIG, in Hugging Face's names and layouts."""
    d, V = 16, 50
    g = torch.Generator().manual_seed(0)
    shapes = {
        "wte.weight": (V, d), "wpe.weight": (16, d), "ln_f.weight": (d,), "ln_f.bias": (d,),
        "h.0.ln_1.weight": (d,), "h.0.ln_1.bias": (d,), "h.0.ln_2.weight": (d,),
        "h.0.ln_2.bias": (d,), "h.0.attn.c_attn.weight": (d, 3 * d),
        "h.0.attn.c_attn.bias": (3 * d,), "h.0.attn.c_proj.weight": (d, d),
        "h.0.attn.c_proj.bias": (d,), "h.0.mlp.c_fc.weight": (d, 4 * d),
        "h.0.mlp.c_fc.bias": (4 * d,), "h.0.mlp.c_proj.weight": (4 * d, d),
        "h.0.mlp.c_proj.bias": (d,),
    }
    return {f"transformer.{k}": torch.randn(s, generator=g) for k, s in shapes.items()}


def _folder(tmp_path, config=GPT2_CONFIG, tensors=None):
    (tmp_path / "config.json").write_text(json.dumps(config))
    save_file(_gpt2_tensors() if tensors is None else tensors, tmp_path / "model.safetensors")
    return tmp_path


class NotATensor:
    """Anything torch.load(weights_only=True) must refuse to unpickle."""


def test_a_complete_folder_loads(tmp_path):
    model, tokenizer = load_pretrained(_folder(tmp_path))
    assert model.cfg.vocab_size == 50 and tokenizer is None
    assert model(torch.tensor([[1, 2, 3]])).shape == (1, 3, 50)


def test_empty_folder(tmp_path):
    with pytest.raises(CheckpointError, match="empty"):
        open_model(tmp_path)


def test_missing_folder_and_file_instead_of_folder(tmp_path):
    with pytest.raises(CheckpointError, match="no such folder"):
        open_model(tmp_path / "absent")
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(CheckpointError, match="not a folder"):
        open_model(tmp_path / "f.txt")


def test_missing_config(tmp_path):
    save_file(_gpt2_tensors(), tmp_path / "model.safetensors")
    with pytest.raises(CheckpointError, match=r"config\.json: missing"):
        load_pretrained(tmp_path)


def test_config_not_json(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        open_model(tmp_path)


def test_missing_weights(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(GPT2_CONFIG))
    with pytest.raises(CheckpointError, match="no weights found"):
        load_pretrained(tmp_path)
    assert describe_pretrained(tmp_path)["algorithm"] == 10  # config alone is enough


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"model_type": "t5"}, "model_type 't5' is not supported"),
        ({"architectures": ["GPT2ForSequenceClassification"]},
         "architecture GPT2ForSequenceClassification is not supported"),
        ({"activation_function": "quick_gelu"}, "activation_function='quick_gelu'"),
        ({"scale_attn_by_inverse_layer_idx": True}, "scale_attn_by_inverse_layer_idx"),
    ],
)
def test_unsupported_config(tmp_path, change, needle):
    with pytest.raises(CheckpointError, match=needle.replace("(", r"\(")):
        load_pretrained(_folder(tmp_path, {**GPT2_CONFIG, **change}))


def test_unsupported_bert_variant(tmp_path):
    config = {"model_type": "bert", "architectures": ["BertModel"],
              "position_embedding_type": "relative_key"}
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="position_embedding_type='relative_key'"):
        describe_pretrained(tmp_path)


def test_truncated_safetensors(tmp_path):
    folder = _folder(tmp_path)
    path = folder / "model.safetensors"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"model\.safetensors: damaged or truncated"):
        load_pretrained(folder)


def test_garbage_safetensors(tmp_path):
    folder = _folder(tmp_path)
    (folder / "model.safetensors").write_bytes(b"\x00" * 3)
    with pytest.raises(CheckpointError, match=r"model\.safetensors"):
        load_pretrained(folder)


def test_missing_tensor_is_named(tmp_path):
    tensors = _gpt2_tensors()
    del tensors["transformer.h.0.mlp.c_fc.bias"]
    needle = r"missing tensor 'transformer\.h\.0\.mlp\.c_fc\.bias'"
    with pytest.raises(CheckpointError, match=needle):
        load_pretrained(_folder(tmp_path, tensors=tensors))


def test_wrong_shape_is_named_with_expected_and_got(tmp_path):
    tensors = _gpt2_tensors()
    tensors["transformer.h.0.attn.c_attn.weight"] = torch.zeros(16, 40)
    with pytest.raises(CheckpointError) as err:
        load_pretrained(_folder(tmp_path, tensors=tensors))
    message = str(err.value)
    assert "model.safetensors" in message and "transformer.h.0.attn.c_attn.weight" in message
    assert "(16, 40)" in message and "expected (16, 48)" in message


def test_config_disagreeing_with_weights(tmp_path):
    needle = r"'transformer\.wte\.weight'.*\(50, 16\).*\(60, 16\)"
    with pytest.raises(CheckpointError, match=needle):
        load_pretrained(_folder(tmp_path, {**GPT2_CONFIG, "vocab_size": 60}))


def test_pickle_only_bin_is_refused(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(GPT2_CONFIG))
    torch.save({"weights": _gpt2_tensors(), "extra": NotATensor()}, tmp_path / "pytorch_model.bin")
    needle = r"pytorch_model\.bin: refused by torch\.load\(weights_only=True\)"
    with pytest.raises(CheckpointError, match=needle):
        load_pretrained(tmp_path)


def test_sharded_index_naming_a_missing_shard(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(GPT2_CONFIG))
    index = {"weight_map": {"transformer.wte.weight": "model-00001-of-00002.safetensors"}}
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    needle = "model-00001-of-00002.safetensors: weights file is missing"
    with pytest.raises(CheckpointError, match=needle):
        load_pretrained(tmp_path)


def test_float16_weights_are_converted_and_noted(tmp_path):
    tensors = {k: v.half() for k, v in _gpt2_tensors().items()}
    _, _, info = open_model(_folder(tmp_path, tensors=tensors))
    assert any("float16" in note for note in info["notes"])
    reread = load_file(tmp_path / "model.safetensors")
    assert reread["transformer.wte.weight"].dtype == torch.float16  # the file is untouched
