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


@pytest.mark.skipif(not _mapped("[stack]"), reason="needs /proc/self/maps")
def test_a_mapped_view_equals_the_read_tensor_and_is_unmapped_once_dropped(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "w.safetensors"
    save_file({"a": torch.arange(12.0).view(3, 4), "b": torch.ones(5, dtype=torch.bfloat16)},
              str(path))
    file = WeightsFile(path)
    view = file.mapped("a")
    assert _mapped(path) and torch.equal(view, file.read("a"))
    kept = view.T.contiguous()
    view[0, 0] = 99.0  # copy-on-write: the file does not change
    del view
    gc.collect()
    assert not _mapped(path)
    assert torch.equal(kept, torch.arange(12.0).view(3, 4).T)
    assert torch.equal(file.read("a"), torch.arange(12.0).view(3, 4))
    assert torch.equal(file.mapped("b").float(), torch.ones(5))
    path.write_bytes(path.read_bytes()[:-4])  # cut after it was opened
    with pytest.raises(ValueError, match="truncated"):
        file.mapped("b")


def test_transposed_and_converted_weights_are_not_read_into_the_heap(tmp_path, monkeypatch):
    """GPT-2's Conv1D weights are transposed on the way in, Qwen2's bfloat16 converted:
    both go through a mapping of the file, so that no heap block of the source is freed
    between the kept weights (measured: +25 % RSS after opening GPT-2 small)."""
    read = []
    plain = WeightsFile.read
    monkeypatch.setattr(WeightsFile, "read",
                        lambda self, name, out=None: read.append(name) or plain(self, name, out))
    open_model(random_hf_folder(tmp_path / "gpt2", TINY_GPT2, torch.float32))
    assert "transformer.wte.weight" in read
    assert not any(name.endswith(("c_attn.weight", "c_fc.weight", "c_proj.weight"))
                   for name in read)
    read.clear()
    open_model(random_hf_folder(tmp_path / "qwen", TINY_QWEN2, torch.bfloat16))
    assert read == []


def test_a_model_on_meta_imports_no_compiler():
    """Building on "meta" skips the random initialisation, which there imports
    torch._dynamo (2 s and 74 MB, measured) on the way to opening any folder."""
    import subprocess
    import sys

    code = ("import sys; from explorer.core import ModelConfig; "
            "from explorer.core.budget import meta_model; "
            "m = meta_model(ModelConfig(arch='encoder-decoder', vocab_size=50, l_max=8)); "
            "assert all(p.is_meta for p in m.parameters()); "
            "print('torch._dynamo' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_a_nan_past_the_first_chunk_is_found(monkeypatch):
    from explorer.core import finite

    monkeypatch.setattr(finite, "CHUNK", 7)
    model = torch.nn.Linear(10, 10)
    with torch.no_grad():
        model.weight[9, 9] = float("nan")
    assert finite.nonfinite_tensors(model) == ["weight"]
    assert finite.all_finite(model.bias)
