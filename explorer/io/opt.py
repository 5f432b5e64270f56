"""OPT (``OPTForCausalLM``) onto Algorithm 10, the DTransformer.

OPT is the paper's DTransformer with learned positions, ReLU in its MLPs and W_u tied
to W_e. Its position table carries two extra rows at the top (Hugging Face's offset of
2), sliced off here. ``do_layer_norm_before`` chooses pre-norm layers with a final
layer norm (most sizes, Algorithm 10 as written) or post-norm layers without one (the
350M model), both switches the paper's algorithms already have.
"""

from __future__ import annotations

from explorer.core import ModelConfig
from explorer.io.errors import CheckpointError
from explorer.io.hf_config import HFConfig, WeightMap
from explorer.io.tensors import TensorSource

FAMILY = "OPT"
MODEL_TYPES = ("opt",)
ARCHITECTURES = ("OPTForCausalLM", "OPTModel")
IGNORED_SUFFIXES = ()
POSITION_OFFSET = 2


def model_config(hf: HFConfig) -> tuple[ModelConfig, list[str]]:
    d_e = hf.int("hidden_size", 768)
    proj = hf.data.get("word_embed_proj_dim")
    if proj not in (None, d_e):
        raise CheckpointError(
            f"{hf.path}: word_embed_proj_dim={proj} differs from hidden_size={d_e}; the "
            "projections in and out of a smaller embedding are not supported"
        )
    hf.require("layer_norm_elementwise_affine", (True,), True)
    pre = hf.bool("do_layer_norm_before", True)
    if pre:
        hf.require("_remove_final_layer_norm", (False,), False)
    cfg = ModelConfig(
        arch="decoder",
        vocab_size=hf.int("vocab_size", 50272),
        l_max=hf.int("max_position_embeddings", 2048),
        d_e=d_e,
        n_heads=hf.int("num_attention_heads", 12),
        n_layers=hf.int("num_hidden_layers", 12),
        d_mlp=hf.int("ffn_dim", 3072),
        norm_placement="pre" if pre else "post",
        activation=hf.activation("activation_function", "relu"),
        tie_unembedding=hf.bool("tie_word_embeddings", True),
        bias=hf.bool("enable_bias", True),
    )
    placement = ("pre-norm layers and a final layer norm (Algorithm 10 as written)" if pre
                 else "post-norm layers, no final layer norm (do_layer_norm_before false)")
    return cfg, [placement, "learned positions (Hugging Face's offset of 2 rows removed); "
                 "ReLU MLPs"]


def load_weights(hf: HFConfig, cfg: ModelConfig, source: TensorSource) -> WeightMap:
    anchor = "decoder.embed_tokens.weight"
    prefix = source.find_prefix(anchor, ("model.", ""))
    maps = WeightMap(source, "model." if prefix is None else prefix)
    d, V, bias = cfg.d_e, cfg.vocab_size, cfg.bias
    maps.put("stack.embed.token.W_e.weight", anchor, (V, d), "token embedding W_e")
    name = "decoder.embed_positions.weight"
    table = maps.read(name, (cfg.l_max + POSITION_OFFSET, d), "position embedding W_p")
    maps.set("stack.embed.position.W_p.weight", table[POSITION_OFFSET:].clone(),
             maps.prefix + name)
    for i in range(cfg.n_layers):
        ours, name = f"stack.blocks.{i}", f"decoder.layers.{i}"
        for part, proj in (("W_q", "q_proj"), ("W_k", "k_proj"), ("W_v", "v_proj"),
                           ("W_o", "out_proj")):
            maps.linear(f"{ours}.attn.{part}", f"{name}.self_attn.{proj}", d, d,
                        f"layer {i} {part}", bias)
        maps.norm(f"{ours}.attn_norm", f"{name}.self_attn_layer_norm", d,
                  f"layer {i} attention norm")
        maps.linear(f"{ours}.mlp.W_mlp1", f"{name}.fc1", cfg.d_mlp, d, f"layer {i} W_mlp1", bias)
        maps.linear(f"{ours}.mlp.W_mlp2", f"{name}.fc2", d, cfg.d_mlp, f"layer {i} W_mlp2", bias)
        maps.norm(f"{ours}.mlp_norm", f"{name}.final_layer_norm", d, f"layer {i} MLP norm")
    if cfg.norm_placement == "pre":
        maps.norm("stack.final_norm", "decoder.final_layer_norm", d, "final norm")
    W_e = "stack.embed.token.W_e.weight"
    if cfg.tie_unembedding:
        maps.set("unembed.W_u.weight", maps.state[W_e], maps.origin[W_e])
    else:
        maps.set("unembed.W_u.weight", source.get("lm_head.weight", (V, d), "unembedding W_u"),
                 "lm_head.weight")
    return maps
