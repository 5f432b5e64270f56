"""A fake Hugging Face hub cache for tests: ``make_hub_cache(root)`` lays out the hub's
``models--ORG--NAME/{refs,snapshots,blobs}`` folders with a tiny random GPT-2, a model of a
family we do not map (T5), a GPT-2 whose weights were never downloaded, one without a tokenizer,
and a model without ``refs/main``. Shared by tests/io and tests/ui/window (tests/ is on
the path)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors.torch import save_file

from explorer.tokenize import train_tokenizer

GPT2_CONFIG = {
    "model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": 50,
    "n_positions": 16, "n_embd": 16, "n_layer": 1, "n_head": 2,
    "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5,
}
T5_CONFIG = {"model_type": "t5", "architectures": ["T5ForConditionalGeneration"],
             "d_model": 16, "num_layers": 1, "num_heads": 2, "vocab_size": 50}


def gpt2_tensors(seed: int = 0) -> dict[str, torch.Tensor]:
    """A complete GPT-2 state dict for GPT2_CONFIG, in Hugging Face's names and layouts."""
    d, V = 16, 50
    g = torch.Generator().manual_seed(seed)
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


def add_snapshot(cache: Path, repo: str, commit: str, config: dict | None,
                 weights: bool = True, main: bool = True, tokenizer: bool = True) -> Path:
    """``cache/models--ORG--NAME/snapshots/<commit>/`` with config.json, (as the hub does:
    a link into blobs/) model.safetensors and a character tokenizer.json of fewer than 50
    tokens; ``refs/main`` names it when ``main``."""
    model_dir = cache / ("models--" + repo.replace("/", "--"))
    snapshot = model_dir / "snapshots" / commit
    blobs = model_dir / "blobs"
    snapshot.mkdir(parents=True)
    blobs.mkdir(exist_ok=True)
    if config is not None:
        (snapshot / "config.json").write_text(json.dumps(config))
    if weights:
        blob = blobs / f"{commit}-weights"
        save_file(gpt2_tensors(), blob)
        os.symlink(os.path.relpath(blob, snapshot), snapshot / "model.safetensors")
    if tokenizer:
        train_tokenizer("char", ["the cat sat on the mat"]).save(snapshot / "tokenizer.json")
    if main:
        (model_dir / "refs").mkdir(exist_ok=True)
        (model_dir / "refs" / "main").write_text(commit)
    return snapshot


def make_hub_cache(cache: Path) -> dict[str, Path]:
    """The fake cache; returns the snapshot each model should open at, by repo id."""
    gpt2 = add_snapshot(cache, "openai-community/gpt2", "c0ffee", GPT2_CONFIG)
    # an older snapshot touched later: refs/main, not the newest, says which one is current
    old = add_snapshot(cache, "openai-community/gpt2", "0ld", {"model_type": "t5"}, main=False)
    os.utime(old, (gpt2.stat().st_mtime + 100,) * 2)
    t5 = add_snapshot(cache, "google/t5-small", "7e5", T5_CONFIG)
    bare = add_snapshot(cache, "someone/config-only", "abc", GPT2_CONFIG, weights=False)
    untokenized = add_snapshot(cache, "someone/no-tokenizer", "abc", GPT2_CONFIG,
                               tokenizer=False)
    first = add_snapshot(cache, "distilgpt2", "first", GPT2_CONFIG, main=False)
    newest = add_snapshot(cache, "distilgpt2", "second", GPT2_CONFIG, main=False)
    os.utime(first, (newest.stat().st_mtime - 100,) * 2)
    (cache / "datasets--someone--data" / "snapshots").mkdir(parents=True)  # not a model
    return {"openai-community/gpt2": gpt2, "google/t5-small": t5,
            "someone/config-only": bare, "someone/no-tokenizer": untokenized,
            "distilgpt2": newest}
