"""GPT-2 (``GPT2LMHeadModel``, ``GPT2Model``) onto Algorithm 10, the DTransformer.

GPT-2 is the paper's DTransformer with pre-norm layers, a final layer norm, GELU in
its tanh approximation and W_u tied to W_e. Its ``Conv1D`` layers store weights as
(d_in, d_out), the transpose of ``nn.Linear``, and one fused ``c_attn`` holds
W_q, W_k and W_v side by side; both are undone here.
"""

from __future__ import annotations

import torch

from explorer.core import ModelConfig
from explorer.io.hf_config import HFConfig, WeightMap
from explorer.io.tensors import TensorSource

FAMILY = "GPT-2"
MODEL_TYPES = ("gpt2",)
ARCHITECTURES = ("GPT2LMHeadModel", "GPT2Model")
IGNORED_SUFFIXES = (".attn.bias", ".attn.masked_bias")  # causal-mask buffers of old files


def model_config(hf: HFConfig) -> tuple[ModelConfig, list[str]]:
    hf.require("scale_attn_weights", (True,), True)
    hf.require("scale_attn_by_inverse_layer_idx", (False,), False)
    hf.require("add_cross_attention", (False,), False)
    d_e = hf.int("n_embd", 768)
    inner = hf.data.get("n_inner")
    cfg = ModelConfig(
        arch="decoder",
        vocab_size=hf.int("vocab_size", 50257),
        l_max=hf.int("n_positions", 1024),
        d_e=d_e,
        n_heads=hf.int("n_head", 12),
        n_layers=hf.int("n_layer", 12),
        d_mlp=4 * d_e if inner is None else hf.int("n_inner"),
        norm_placement="pre",
        activation=hf.activation("activation_function", "gelu_new"),
        tie_unembedding=hf.bool("tie_word_embeddings", True),
        norm_eps=hf.float("layer_norm_epsilon", 1e-5),
    )
    return cfg, ["pre-norm layers and a final layer norm (Algorithm 10 as written)"]


def _transposed(w: torch.Tensor) -> torch.Tensor:
    return w.T.contiguous()


def _conv1d(maps: WeightMap, ours: str, name: str, d_in: int, d_out: int, what: str) -> None:
    """A GPT-2 Conv1D (weight d_in × d_out) as our nn.Linear (d_out × d_in)."""
    maps.set(
        f"{ours}.weight",
        maps.read(f"{name}.weight", (d_in, d_out), what, _transposed),
        maps.prefix + f"{name}.weight",
    )
    maps.put(f"{ours}.bias", f"{name}.bias", (d_out,), what + " bias")


def load_weights(hf: HFConfig, cfg: ModelConfig, source: TensorSource) -> WeightMap:
    prefix = source.find_prefix("wte.weight", ("transformer.", ""))
    maps = WeightMap(source, "transformer." if prefix is None else prefix)
    d, V = cfg.d_e, cfg.vocab_size
    maps.put("stack.embed.token.W_e.weight", "wte.weight", (V, d), "token embedding W_e")
    maps.put(
        "stack.embed.position.W_p.weight", "wpe.weight", (cfg.l_max, d), "position embedding W_p"
    )
    for i in range(cfg.n_layers):
        ours, name = f"stack.blocks.{i}", f"h.{i}"
        maps.norm(f"{ours}.attn_norm", f"{name}.ln_1", d, f"layer {i} attention norm")
        qkv_w = maps.read(f"{name}.attn.c_attn.weight", (d, 3 * d), f"layer {i} W_q|W_k|W_v",
                          lambda w: [w[:, j * d:(j + 1) * d].T.contiguous() for j in range(3)])
        qkv_b = maps.read(f"{name}.attn.c_attn.bias", (3 * d,), f"layer {i} W_q|W_k|W_v bias",
                          lambda b: [b[j * d:(j + 1) * d].clone() for j in range(3)])
        origin = f"{maps.prefix}{name}.attn.c_attn"
        for j, part in enumerate(("W_q", "W_k", "W_v")):
            maps.set(f"{ours}.attn.{part}.weight", qkv_w[j], origin + ".weight")
            maps.set(f"{ours}.attn.{part}.bias", qkv_b[j], origin + ".bias")
        _conv1d(maps, f"{ours}.attn.W_o", f"{name}.attn.c_proj", d, d, f"layer {i} W_o")
        maps.norm(f"{ours}.mlp_norm", f"{name}.ln_2", d, f"layer {i} MLP norm")
        _conv1d(maps, f"{ours}.mlp.W_mlp1", f"{name}.mlp.c_fc", d, cfg.d_mlp, f"layer {i} W_mlp1")
        _conv1d(maps, f"{ours}.mlp.W_mlp2", f"{name}.mlp.c_proj", cfg.d_mlp, d, f"layer {i} W_mlp2")
    maps.norm("stack.final_norm", "ln_f", d, "final norm")
    if cfg.tie_unembedding:
        maps.set(
            "unembed.W_u.weight",
            maps.state["stack.embed.token.W_e.weight"],
            maps.origin["stack.embed.token.W_e.weight"],
        )
    else:
        maps.set(
            "unembed.W_u.weight",
            source.get("lm_head.weight", (V, d), "unembedding W_u"),
            "lm_head.weight",
        )
    return maps
