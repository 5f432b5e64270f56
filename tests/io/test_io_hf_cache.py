"""The Hugging Face cache scanner: where the cache is, which snapshot is current, and
whether each model opens here, from config.json alone (offline, no weights read)."""

from __future__ import annotations

from pathlib import Path

from hf_cache_folders import GPT2_CONFIG, add_snapshot, gpt2_tensors, make_hub_cache
from safetensors.torch import save_file

from explorer.io import open_model
from explorer.io.hf_cache import cache_dir, cached_models


def test_the_cache_folder_follows_the_hubs_variables(tmp_path):
    assert cache_dir({"HF_HUB_CACHE": str(tmp_path / "a"), "HF_HOME": "/x"}) == tmp_path / "a"
    assert cache_dir({"HF_HOME": str(tmp_path / "h")}) == tmp_path / "h" / "hub"
    assert cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "huggingface" / "hub"
    assert cache_dir({}) == Path.home() / ".cache" / "huggingface" / "hub"


def test_lists_every_cached_model_with_what_it_is_or_why_not(tmp_path, monkeypatch):
    expected = make_hub_cache(tmp_path)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    found = {m.repo_id: m for m in cached_models()}
    assert list(found) == ["distilgpt2", "google/t5-small", "openai-community/gpt2",
                           "someone/config-only", "someone/no-tokenizer"]
    for repo, model in found.items():
        assert model.folder == expected[repo], repo

    gpt2 = found["openai-community/gpt2"]  # refs/main, not the newer old snapshot
    assert gpt2.supported and gpt2.reason is None
    assert gpt2.family == "GPT-2" and gpt2.model_type == "gpt2"
    assert gpt2.parameters == 4368
    assert gpt2.label == "openai-community/gpt2 (GPT-2, 4.37 k)"
    assert found["distilgpt2"].supported  # no refs/main: the newest snapshot

    t5 = found["google/t5-small"]
    assert not t5.supported and t5.model_type == "t5"
    assert t5.reason.startswith("model_type 't5' is not supported (supported: ")
    assert t5.label == "google/t5-small — model_type 't5' is not supported"
    bare = found["someone/config-only"]
    assert not bare.supported and bare.reason.startswith("no weights downloaded")
    assert found["someone/no-tokenizer"].reason.startswith("no tokenizer downloaded")


def test_a_listed_snapshot_opens_under_its_repo_name(tmp_path):
    make_hub_cache(tmp_path)
    gpt2 = next(m for m in cached_models(tmp_path) if m.repo_id == "openai-community/gpt2")
    model, tokenizer, info = open_model(gpt2.folder)
    assert info["name"] == "openai-community/gpt2"  # not the commit folder's name
    assert tokenizer is not None
    assert model.num_parameters() == gpt2.parameters


def test_damaged_and_partial_downloads_are_explained(tmp_path):
    add_snapshot(tmp_path, "a/broken-json", "1", None)
    (tmp_path / "models--a--broken-json" / "snapshots" / "1" / "config.json").write_text("{")
    add_snapshot(tmp_path, "a/no-config", "1", None)
    cut = add_snapshot(tmp_path, "a/cut-short", "1", GPT2_CONFIG)
    (tmp_path / "models--a--cut-short" / "blobs" / "1-weights").unlink()  # a dangling link
    (cut / "model.safetensors.index.json").write_text(
        '{"weight_map": {"wte.weight": "model-00001-of-00002.safetensors"}}')
    (tmp_path / "models--a--no-snapshot").mkdir()
    reasons = {m.repo_id: m.reason for m in cached_models(tmp_path)}
    assert reasons["a/broken-json"].startswith("not valid JSON")
    assert "missing" in reasons["a/no-config"]
    assert reasons["a/cut-short"].startswith("no weights downloaded")
    assert "a/no-snapshot" not in reasons
    assert cached_models(tmp_path / "absent") == []


def test_a_download_that_completes_is_seen_at_the_next_look(tmp_path):
    snapshot = add_snapshot(tmp_path, "late/gpt2", "1", GPT2_CONFIG, weights=False)
    assert cached_models(tmp_path)[0].reason.startswith("no weights downloaded")
    save_file(gpt2_tensors(), snapshot / "model.safetensors")
    assert cached_models(tmp_path)[0].supported
