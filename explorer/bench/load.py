"""``transformer-explorer bench load``: the memory a model folder costs once opened.

Random Hugging Face folders (config.json + model.safetensors in the family's own layout,
written here, nothing downloaded) of a GPT-2-small-sized model (124 M parameters,
float32 file) and of a Qwen2-0.5B-sized one (494 M parameters, bfloat16 file as Qwen
ships them; ``--qwen2 no`` skips it), plus our own folder of the GPT-2-sized model.
Each is opened (``explorer.io.open_model``) in a fresh process, after importing what the
app imports to open a model; it reports:

- ``baseline_mb``: that process's RSS before opening (the app's empty RSS, no window);
- ``after_mb`` and ``peak_mb``: RSS after opening, and its high-water mark while opening
  (``VmHWM``, reset before opening through ``/proc/self/clear_refs``);
- ``weights_mb``: the bytes of the model's weights (each storage counted once: tied
  weights share);
- ``after_over_weights`` = (after − baseline) / weights and ``peak_over_weights`` =
  (peak − baseline) / weights: targets ≤ 1.15 and ≤ 1.3;
- ``file_mapped``: whether the process still maps the weights file.

Numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

_CHILD = r"""
import gc, json, sys
def status():
    out = {}
    for line in open("/proc/self/status"):
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) / 1024
    return out
import torch
import explorer.io, explorer.trace, explorer.state  # what the app has loaded by then
gc.collect()
base = status()["VmRSS"]
try:
    open("/proc/self/clear_refs", "w").write("5")  # the high-water mark starts here
    reset = True
except OSError:
    reset = False
model, tokenizer, info = explorer.io.open_model(sys.argv[1])
gc.collect()
now = status()
storages = {}
for t in [*model.parameters(), *model.buffers()]:
    storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
weights = sum(storages.values()) / 2**20
file = sys.argv[2]
print(json.dumps({
    "parameters": info["parameters"], "baseline_mb": round(base, 1),
    "after_mb": round(now["VmRSS"], 1), "peak_mb": round(now["VmHWM"], 1) if reset else None,
    "weights_mb": round(weights, 1),
    "after_over_weights": round((now["VmRSS"] - base) / weights, 3),
    "peak_over_weights": round((now["VmHWM"] - base) / weights, 3) if reset else None,
    "file_mapped": any(file in line for line in open("/proc/self/maps")),
    "load_seconds": info["load_seconds"]}))
"""

GPT2_SMALL_HF = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"],
                 "vocab_size": 50257, "n_positions": 1024, "n_embd": 768, "n_layer": 12,
                 "n_head": 12, "activation_function": "gelu_new"}
QWEN2_05B_HF = {"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"],
                "vocab_size": 151936, "hidden_size": 896, "intermediate_size": 4864,
                "num_hidden_layers": 24, "num_attention_heads": 14,
                "num_key_value_heads": 2, "max_position_embeddings": 32768,
                "rope_theta": 1000000.0, "rms_norm_eps": 1e-6, "tie_word_embeddings": True,
                "hidden_act": "silu", "use_sliding_window": False}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--qwen2", choices=("yes", "no"), default="yes",
                        help="also the Qwen2-0.5B-sized folder (1 GB file, 2 GB in memory)")


def _gpt2_shapes(c: dict) -> dict[str, tuple[int, ...]]:
    d, V, m = c["n_embd"], c["vocab_size"], 4 * c["n_embd"]
    shapes = {"transformer.wte.weight": (V, d), "transformer.wpe.weight": (c["n_positions"], d),
              "transformer.ln_f.weight": (d,), "transformer.ln_f.bias": (d,)}
    for i in range(c["n_layer"]):
        h = f"transformer.h.{i}."
        shapes.update({h + "ln_1.weight": (d,), h + "ln_1.bias": (d,), h + "ln_2.weight": (d,),
                       h + "ln_2.bias": (d,), h + "attn.c_attn.weight": (d, 3 * d),
                       h + "attn.c_attn.bias": (3 * d,), h + "attn.c_proj.weight": (d, d),
                       h + "attn.c_proj.bias": (d,), h + "mlp.c_fc.weight": (d, m),
                       h + "mlp.c_fc.bias": (m,), h + "mlp.c_proj.weight": (m, d),
                       h + "mlp.c_proj.bias": (d,)})
    return shapes


def _qwen2_shapes(c: dict) -> dict[str, tuple[int, ...]]:
    d, V, m = c["hidden_size"], c["vocab_size"], c["intermediate_size"]
    head = d // c["num_attention_heads"]
    kv = c["num_key_value_heads"] * head
    shapes = {"model.embed_tokens.weight": (V, d), "model.norm.weight": (d,)}
    for i in range(c["num_hidden_layers"]):
        h = f"model.layers.{i}."
        shapes.update({h + "input_layernorm.weight": (d,),
                       h + "post_attention_layernorm.weight": (d,),
                       h + "self_attn.q_proj.weight": (d, d), h + "self_attn.q_proj.bias": (d,),
                       h + "self_attn.k_proj.weight": (kv, d), h + "self_attn.k_proj.bias": (kv,),
                       h + "self_attn.v_proj.weight": (kv, d), h + "self_attn.v_proj.bias": (kv,),
                       h + "self_attn.o_proj.weight": (d, d), h + "mlp.gate_proj.weight": (m, d),
                       h + "mlp.up_proj.weight": (m, d), h + "mlp.down_proj.weight": (d, m)})
    return shapes


def random_hf_folder(folder: Path, config: dict, dtype=None) -> Path:
    """A Hugging Face folder of ``config`` (GPT-2 or Qwen2 layout) with random weights."""
    import torch
    from safetensors.torch import save_file

    dtype = torch.float32 if dtype is None else dtype
    shapes = (_gpt2_shapes if config["model_type"] == "gpt2" else _qwen2_shapes)(config)
    if not config.get("tie_word_embeddings", True):
        shapes["lm_head.weight"] = next(iter(shapes.values()))  # (N_V, d_e), like W_e
    gen = torch.Generator().manual_seed(0)
    tensors = {name: (torch.randn(shape, generator=gen) * 0.02).to(dtype)
               for name, shape in shapes.items()}
    folder.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


def _measure(folder: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", _CHILD, str(folder),
                           str(folder / "model.safetensors")],
                          capture_output=True, text=True, env=os.environ.copy(), check=False)
    if done.returncode:
        raise ValueError(f"opening {folder} failed: {done.stderr.strip()[-400:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(args: argparse.Namespace) -> dict:
    import torch

    from explorer.core import save_model
    from explorer.io import open_model

    out = {"targets": {"after_over_weights": 1.15, "peak_over_weights": 1.3}}
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        root = Path(tmp)
        gpt2 = random_hf_folder(root / "gpt2", GPT2_SMALL_HF)
        out["gpt2_small_sized_hf"] = _measure(gpt2)
        model, _, _ = open_model(gpt2)
        save_model(model, root / "own")
        del model
        out["gpt2_small_sized_own"] = _measure(root / "own")
        if args.qwen2 == "yes":
            qwen = random_hf_folder(root / "qwen2", QWEN2_05B_HF, torch.bfloat16)
            out["qwen2_05b_sized_hf_bf16"] = _measure(qwen)
    return out
