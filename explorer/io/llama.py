"""Llama-style decoders (Llama, Qwen2) onto Algorithm 10, with labelled extensions.

The skeleton is the paper's DTransformer: pre-norm layers, a final norm, W_u (tied to
W_e or not). The norm is RMSnorm, the paper's own variant of Algorithm 6. Three steps
are not in the paper, and the model says so wherever it is shown:

- rotary positions (Su et al. 2021): no W_p; the queries and keys of every layer are
  rotated by their position (``positions="rotary"``);
- a gated SiLU MLP, SwiGLU (``activation="swiglu"``): W_mlp2 (SiLU(W_mlp1 X̃) ⊙ W_up X̃),
  with Hugging Face's gate_proj as W_mlp1, up_proj as W_up and down_proj as W_mlp2;
- grouped-query attention (``n_kv_heads`` < H): query heads share key/value heads.

Qwen2 is the same mapping with biases on W_q, W_k and W_v. Config fields that would
change the computation in ways we do not model (sliding-window attention, rope
scalings other than none/linear, partial rotary dimensions …) are refused by name.
"""

from __future__ import annotations

from typing import Any

from explorer.core import ModelConfig
from explorer.io.errors import CheckpointError
from explorer.io.hf_config import HFConfig, WeightMap
from explorer.io.tensors import TensorSource

FAMILY = {"llama": "Llama", "qwen2": "Qwen2"}
MODEL_TYPES = ("llama", "qwen2")
ARCHITECTURES = ("LlamaForCausalLM", "Qwen2ForCausalLM")
IGNORED_SUFFIXES = ("rotary_emb.inv_freq",)
ROPE_TYPES = ("default", "linear")


def _refuse(hf: HFConfig, key: str, value: Any, why: str) -> None:
    raise CheckpointError(f"{hf.path}: {key}={value!r} is not supported ({why})")


def _rope(hf: HFConfig) -> tuple[float, float]:
    """(base, linear scale) from ``rope_parameters`` (transformers 5) or ``rope_theta`` +
    ``rope_scaling`` (older files); any other scaling scheme is refused by name."""
    params = hf.data.get("rope_parameters")
    if isinstance(params, dict) and params:
        key, scaling = "rope_parameters", params
        base = scaling.get("rope_theta", hf.data.get("rope_theta", 10000.0))
    else:
        key, scaling = "rope_scaling", hf.data.get("rope_scaling") or {}
        base = hf.data.get("rope_theta", 10000.0)
        if not isinstance(scaling, dict):
            _refuse(hf, key, scaling, "expected an object or null")
    kind = scaling.get("rope_type", scaling.get("type", "default"))
    if kind not in ROPE_TYPES:
        _refuse(hf, f"{key}.rope_type", kind, "only rotary positions without scaling or "
                "with linear scaling are implemented")
    factor = float(scaling.get("factor", 1.0)) if kind == "linear" else 1.0
    if isinstance(base, bool) or not isinstance(base, (int, float)) or base <= 1:
        _refuse(hf, "rope_theta", base, "the rotary base must be a number above 1")
    if factor <= 0:
        _refuse(hf, f"{key}.factor", factor, "the linear scale must be positive")
    return float(base), factor


def _refuse_unmapped(hf: HFConfig) -> None:
    """Fields that change the computation in ways the mapping does not model."""
    hf.require("partial_rotary_factor", (None, 1, 1.0), None)
    hf.require("hidden_act", ("silu", "swish"), "silu")
    if hf.model_type == "qwen2":
        hf.require("use_sliding_window", (False, None), False)
        types = hf.data.get("layer_types") or []
        other = sorted({t for t in types if t != "full_attention"})
        if other:
            _refuse(hf, "layer_types", other[0], "only full attention in every layer")
    else:
        hf.require("sliding_window", (None,), None)
    for key in ("alibi", "use_alibi", "attn_logit_softcapping", "final_logit_softcapping",
                "qk_norm", "use_qk_norm"):
        hf.require(key, (None, False), None)


def model_config(hf: HFConfig) -> tuple[ModelConfig, list[str]]:
    _refuse_unmapped(hf)
    qwen = hf.model_type == "qwen2"
    d_e = hf.int("hidden_size", 4096)
    heads = hf.int("num_attention_heads", 32)
    kv = hf.data.get("num_key_value_heads")
    kv = heads if kv is None else hf.int("num_key_value_heads")
    head_dim = hf.data.get("head_dim")
    head_dim = d_e // heads if head_dim is None else hf.int("head_dim")
    base, scale = _rope(hf)
    attn_bias = True if qwen else hf.bool("attention_bias", False)
    cfg = ModelConfig(
        arch="decoder",
        vocab_size=hf.int("vocab_size", 32000),
        l_max=hf.int("max_position_embeddings", 2048),
        d_e=d_e,
        n_heads=heads,
        n_kv_heads=kv,
        d_attn=head_dim,
        d_mid=head_dim,
        n_layers=hf.int("num_hidden_layers", 32),
        d_mlp=hf.int("intermediate_size", 11008),
        norm="rms",
        norm_placement="pre",
        positions="rotary",
        activation="swiglu",
        rope_base=base,
        rope_scale=scale,
        bias=False if qwen else hf.bool("mlp_bias", False),
        qkv_bias=attn_bias,
        out_bias=False if qwen else attn_bias,
        tie_unembedding=hf.bool("tie_word_embeddings", False),
        norm_eps=hf.float("rms_norm_eps", 1e-6),
    )
    notes = ["pre-norm layers with RMSnorm (Algorithm 6's variant) and a final norm"]
    notes += [f"not in the paper: {e}" for e in cfg.extensions]
    if qwen:
        notes.append("biases on W_q, W_k, W_v only")
    if scale != 1:
        notes.append(f"rotary positions scaled linearly (positions / {scale:g})")
    return cfg, notes


def load_weights(hf: HFConfig, cfg: ModelConfig, source: TensorSource) -> WeightMap:
    prefix = source.find_prefix("embed_tokens.weight", ("model.", ""))
    maps = WeightMap(source, "model." if prefix is None else prefix)
    d, V = cfg.d_e, cfg.vocab_size
    q_rows, kv_rows = cfg.n_heads * cfg.d_attn, cfg.n_kv_heads * cfg.d_attn
    maps.put("stack.embed.token.W_e.weight", "embed_tokens.weight", (V, d), "token embedding W_e")
    for i in range(cfg.n_layers):
        ours, name = f"stack.blocks.{i}", f"layers.{i}"
        what = f"layer {i}"
        maps.put(f"{ours}.attn_norm.gamma", f"{name}.input_layernorm.weight", (d,),
                 f"{what} attention norm γ")
        for part, proj, rows in (("W_q", "q_proj", q_rows), ("W_k", "k_proj", kv_rows),
                                 ("W_v", "v_proj", kv_rows)):
            maps.linear(f"{ours}.attn.{part}", f"{name}.self_attn.{proj}", rows, d,
                        f"{what} {part}", cfg.qkv_bias)
        maps.linear(f"{ours}.attn.W_o", f"{name}.self_attn.o_proj", d, q_rows, f"{what} W_o",
                    cfg.out_bias)
        maps.put(f"{ours}.mlp_norm.gamma", f"{name}.post_attention_layernorm.weight", (d,),
                 f"{what} MLP norm γ")
        for part, proj, shape in (("W_mlp1", "gate_proj", (cfg.d_mlp, d)),
                                  ("W_up", "up_proj", (cfg.d_mlp, d)),
                                  ("W_mlp2", "down_proj", (d, cfg.d_mlp))):
            maps.linear(f"{ours}.mlp.{part}", f"{name}.mlp.{proj}", *shape, f"{what} {part}",
                        cfg.bias)
    maps.put("stack.final_norm.gamma", "norm.weight", (d,), "final norm γ")
    W_e = "stack.embed.token.W_e.weight"
    if cfg.tie_unembedding:
        maps.set("unembed.W_u.weight", maps.state[W_e], maps.origin[W_e])
    else:
        maps.set("unembed.W_u.weight", source.get("lm_head.weight", (V, d), "unembedding W_u"),
                 "lm_head.weight")
    return maps
