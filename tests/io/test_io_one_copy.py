"""Opening a folder keeps one copy of the weights: no mapping of the file, no duplicate."""

from __future__ import annotations

import gc

import pytest
import torch

from explorer.bench.load import GPT2_SMALL_HF, QWEN2_05B_HF, random_hf_folder
from explorer.core import load_model, save_model
from explorer.core.weights_file import WeightsFile
from explorer.io import open_model

TINY_GPT2 = {**GPT2_SMALL_HF, "vocab_size": 50, "n_positions": 16, "n_embd": 16,
             "n_layer": 2, "n_head": 2}
TINY_QWEN2 = {**QWEN2_05B_HF, "vocab_size": 60, "hidden_size": 16, "intermediate_size": 24,
              "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
              "max_position_embeddings": 32}


def _mapped(path) -> bool:
    with open("/proc/self/maps") as maps:
        return any(str(path) in line for line in maps)


def _one_copy(model: torch.nn.Module) -> None:
    """Every weight owns exactly its storage, and a storage is held by one weight only
    (tied weights are one Parameter)."""
    tensors = {id(t): t for t in [*model.parameters(), *model.buffers()]}.values()
    storages = [t.untyped_storage() for t in tensors]
    assert len({s.data_ptr() for s in storages}) == len(storages)  # nothing shared twice
    for t, s in zip(tensors, storages):
        assert s.nbytes() == t.numel() * t.element_size()  # no view into a larger block


@pytest.mark.skipif(not _mapped("[stack]"), reason="needs /proc/self/maps")
@pytest.mark.parametrize("config, dtype", [(TINY_GPT2, torch.float32),
                                           ({**TINY_GPT2, "tie_word_embeddings": False},
                                            torch.float32),
                                           (TINY_QWEN2, torch.bfloat16)])
def test_a_hugging_face_folder_leaves_no_mapping_and_one_copy(tmp_path, config, dtype):
    folder = random_hf_folder(tmp_path / "hf", config, dtype)
    model, _, _ = open_model(folder)
    gc.collect()
    assert not _mapped(folder / "model.safetensors")
    _one_copy(model)
    if config.get("tie_word_embeddings", True):
        assert model.unembed.W_u.weight.data_ptr() == model.stack.embed.token.W_e.weight.data_ptr()
    file = WeightsFile(folder / "model.safetensors")
    wte = "transformer.wte.weight" if "n_embd" in config else "model.embed_tokens.weight"
    assert torch.equal(model.stack.embed.token.W_e.weight, file.read(wte).float())


@pytest.mark.skipif(not _mapped("[stack]"), reason="needs /proc/self/maps")
@pytest.mark.parametrize("arch", ["decoder", "encoder-decoder"])
def test_our_own_folder_is_read_into_the_models_tensors(tmp_path, arch):
    from explorer.core import ModelConfig, build_model

    cfg = ModelConfig(arch=arch, vocab_size=40, l_max=16, d_e=16, n_heads=2, n_layers=2,
                      tie_unembedding=True, positions="sinusoidal")
    torch.manual_seed(0)
    saved = build_model(cfg)
    save_model(saved, tmp_path / "own")
    model = load_model(tmp_path / "own")
    gc.collect()
    assert not _mapped(tmp_path / "own" / "model.safetensors")
    _one_copy(model)
    if arch == "decoder":
        assert model.unembed.W_u.weight is model.stack.embed.token.W_e.weight
    for (name, a), b in zip(saved.state_dict().items(), model.state_dict().values()):
        assert torch.equal(a, b), name
    x = torch.randint(0, 40, (1, 8))
    inputs = (x, x) if arch == "encoder-decoder" else (x,)
    assert torch.equal(saved.eval()(*inputs), model(*inputs))


def test_a_truncated_own_folder_says_so(tmp_path):
    from explorer.core import ModelConfig, build_model

    save_model(build_model(ModelConfig(arch="decoder", vocab_size=40, l_max=16, d_e=16,
                                       n_heads=2, n_layers=1)), tmp_path)
    path = tmp_path / "model.safetensors"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError, match="truncated"):
        load_model(tmp_path)
