"""BART and Marian onto Algorithm 8, the EDTransformer.

Both are the paper's post-norm encoder-decoder with a shared W_e, W_u tied to it and
a bias on the logits (``final_logits_bias``). BART learns separate position tables for
the encoder and the decoder, stored with two extra rows at the top (Hugging Face's
offset of 2, sliced off here), and normalises the embedding. Marian uses fixed
sinusoidal positions with sines in the first half of d_e and cosines in the second,
base 10000, scales W_e columns by √d_e and uses SiLU (swish) in its MLPs.
"""

from __future__ import annotations

import torch

from explorer.core import ModelConfig, sinusoidal_table
from explorer.io.errors import CheckpointError
from explorer.io.hf_config import HFConfig, WeightMap
from explorer.io.tensors import TensorSource

FAMILY = {"bart": "BART", "marian": "Marian"}
MODEL_TYPES = ("bart", "marian")
ARCHITECTURES = (
    "BartForConditionalGeneration",
    "BartModel",
    "MarianMTModel",
    "MarianModel",
)
IGNORED_SUFFIXES = ()
BART_POSITION_OFFSET = 2
MARIAN_SINUSOID_BASE = 10000.0


def _heads(hf: HFConfig, key: str, d_e: int) -> int:
    heads = hf.int(key, 16)
    if heads < 1 or d_e % heads:
        raise CheckpointError(f"{hf.path}: {key}={heads} does not divide d_model={d_e}")
    return heads


def model_config(hf: HFConfig) -> tuple[ModelConfig, list[str]]:
    marian = hf.model_type == "marian"
    vocab = hf.int("vocab_size", 58101 if marian else 50265)
    if marian:
        hf.require("share_encoder_decoder_embeddings", (True,), True)
        decoder_vocab = hf.data.get("decoder_vocab_size")
        if decoder_vocab not in (None, vocab):
            raise CheckpointError(
                f"{hf.path}: decoder_vocab_size={decoder_vocab} differs from "
                f"vocab_size={vocab}; separate vocabularies are not supported"
            )
    d_e = hf.int("d_model", 1024)
    variants = (
        dict(
            positions="sinusoidal",
            sinusoid_style="halves",
            sinusoid_base=MARIAN_SINUSOID_BASE,
        )
        if marian
        else dict(positions="learned", shared_positions=False, embed_norm=True)
    )
    cfg = ModelConfig(
        arch="encoder-decoder",
        vocab_size=vocab,
        l_max=hf.int("max_position_embeddings", 1024),
        d_e=d_e,
        n_heads=_heads(hf, "encoder_attention_heads", d_e),
        n_enc_heads=_heads(hf, "encoder_attention_heads", d_e),
        n_dec_heads=_heads(hf, "decoder_attention_heads", d_e),
        n_layers=hf.int("encoder_layers", 12),
        n_enc_layers=hf.int("encoder_layers", 12),
        n_dec_layers=hf.int("decoder_layers", 12),
        d_mlp=hf.int("encoder_ffn_dim", 4096),
        d_enc_mlp=hf.int("encoder_ffn_dim", 4096),
        d_dec_mlp=hf.int("decoder_ffn_dim", 4096),
        norm_placement="post",
        activation=hf.activation("activation_function", "gelu"),
        tie_unembedding=hf.bool("tie_word_embeddings", True),
        scale_embedding=hf.bool("scale_embedding", False),
        unembed_bias=True,
        **variants,
    )
    if marian:
        notes = [
            "sinusoidal positions (sines in the first half of d_e, cosines in the "
            "second, base 10000); post-norm layers"
        ]
    else:
        notes = [
            "learned positions, separate tables for encoder and decoder (Hugging "
            "Face's offset of 2 rows removed); layer norm after the embedding; "
            "post-norm layers"
        ]
    if cfg.scale_embedding:
        notes.append("W_e columns scaled by √d_e")
    return cfg, notes


def _positions(maps: WeightMap, cfg: ModelConfig, stack: str) -> None:
    name = f"{stack}.embed_positions.weight"
    if cfg.positions == "learned":
        rows = cfg.l_max + BART_POSITION_OFFSET
        table = maps.read(name, (rows, cfg.d_e), f"{stack} position embedding W_p")
        maps.set(
            f"{stack}.embed.position.W_p.weight",
            table[BART_POSITION_OFFSET:].clone(),
            maps.prefix + name,
        )
        return
    if maps.prefix + name in maps.source:  # a stored sinusoid table must equal ours
        stored = maps.read(name, (cfg.l_max, cfg.d_e), f"{stack} sinusoidal W_p")
        ours = sinusoidal_table(cfg.l_max, cfg.d_e, cfg.sinusoid_base, cfg.sinusoid_style)
        if not torch.allclose(stored, ours, atol=1e-5):
            raise CheckpointError(
                f"{maps.source.file_of(maps.prefix + name)}: tensor {maps.prefix + name!r} is "
                "not the sinusoidal table the config implies (max difference "
                f"{(stored - ours).abs().max().item():.3g})"
            )


def _attention(maps: WeightMap, ours: str, name: str, d: int, what: str) -> None:
    for part, proj in (
        ("W_q", "q_proj"),
        ("W_k", "k_proj"),
        ("W_v", "v_proj"),
        ("W_o", "out_proj"),
    ):
        maps.linear(f"{ours}.{part}", f"{name}.{proj}", d, d, f"{what} {part}")


def _stack(maps: WeightMap, cfg: ModelConfig, stack: str, n_layers: int) -> None:
    d, d_mlp = cfg.d_e, cfg.stack_sizes(stack)["d_mlp"]
    _positions(maps, cfg, stack)
    if cfg.embed_norm:
        maps.norm(
            f"{stack}.embed.norm", f"{stack}.layernorm_embedding", d, f"{stack} embedding norm"
        )
    for i in range(n_layers):
        ours, name = f"{stack}.blocks.{i}", f"{stack}.layers.{i}"
        what = f"{stack} layer {i}"
        _attention(maps, f"{ours}.attn", f"{name}.self_attn", d, what)
        maps.norm(f"{ours}.attn_norm", f"{name}.self_attn_layer_norm", d, f"{what} attention norm")
        if stack == "decoder":
            _attention(
                maps, f"{ours}.cross_attn", f"{name}.encoder_attn", d, f"{what} cross-attention"
            )
            maps.norm(
                f"{ours}.cross_norm",
                f"{name}.encoder_attn_layer_norm",
                d,
                f"{what} cross-attention norm",
            )
        maps.linear(f"{ours}.mlp.W_mlp1", f"{name}.fc1", d_mlp, d, f"{what} W_mlp1")
        maps.linear(f"{ours}.mlp.W_mlp2", f"{name}.fc2", d, d_mlp, f"{what} W_mlp2")
        maps.norm(f"{ours}.mlp_norm", f"{name}.final_layer_norm", d, f"{what} MLP norm")


def load_weights(hf: HFConfig, cfg: ModelConfig, source: TensorSource) -> WeightMap:
    prefix = source.find_prefix("shared.weight", ("model.", ""))
    if prefix is None:
        prefix = source.find_prefix("encoder.embed_tokens.weight", ("model.", "")) or "model."
    maps = WeightMap(source, prefix)
    d, V = cfg.d_e, cfg.vocab_size
    token = "shared.weight" if prefix + "shared.weight" in source else "encoder.embed_tokens.weight"
    maps.put("encoder.embed.token.W_e.weight", token, (V, d), "token embedding W_e")
    _stack(maps, cfg, "encoder", cfg.n_enc_layers)
    _stack(maps, cfg, "decoder", cfg.n_dec_layers)
    if not cfg.tie_unembedding:
        maps.set(
            "unembed.W_u.weight",
            source.get("lm_head.weight", (V, d), "unembedding W_u"),
            "lm_head.weight",
        )
    if "final_logits_bias" in source:
        bias = source.get("final_logits_bias", (1, V), "final_logits_bias").reshape(V)
        maps.set("unembed.W_u.bias", bias, "final_logits_bias")
    elif any(a.endswith("Model") and "MT" not in a for a in hf.architectures):
        maps.set("unembed.W_u.bias", torch.zeros(V), "(none: no LM head, bias set to 0)")
    else:
        source.get("final_logits_bias", (1, V), "the logits bias")  # raises: missing
    return maps
