"""BERT and its relatives such as MiniLM onto Algorithm 9, the ETransformer.

BERT is the paper's ETransformer with post-norm layers, token-type embeddings added to
W_e and W_p, a layer norm right after the embedding (``embed_norm``), layer-norm
epsilon 1e-12 and exact GELU. Its masked-language-model head is Algorithm 9's last
lines: W_f, GELU, layer norm, then W_u (tied to W_e) with a bias. A ``BertModel``
without that head loads for inspection; its output distribution means nothing.
"""

from __future__ import annotations

from explorer.core import ModelConfig
from explorer.io.hf_config import HFConfig, WeightMap
from explorer.io.tensors import TensorSource

FAMILY = "BERT"
MODEL_TYPES = ("bert",)
ARCHITECTURES = ("BertForMaskedLM", "BertModel", "BertForPreTraining")
IGNORED_SUFFIXES = ("position_ids",)
HEAD = "cls.predictions"
NO_HEAD_NOTE = "no MLM head: output distribution not meaningful"


def has_mlm_head(hf: HFConfig, source: TensorSource | None = None) -> bool:
    """True when the checkpoint carries BERT's masked-language-model head."""
    if source is not None and f"{HEAD}.transform.dense.weight" in source:
        return True
    return any(a in ("BertForMaskedLM", "BertForPreTraining") for a in hf.architectures)


def model_config(hf: HFConfig, source: TensorSource | None = None) -> tuple[ModelConfig, list[str]]:
    hf.require("position_embedding_type", ("absolute",), "absolute")
    hf.require("is_decoder", (False,), False)
    head = has_mlm_head(hf, source)
    cfg = bert_layout(hf, head, vocab_size=30522, l_max=hf.int("max_position_embeddings", 512),
                      norm_eps=1e-12, token_types=2)
    notes = ["post-norm layers; token-type embeddings and a layer norm after the embedding"]
    if head:
        notes.append("MLM head = Algorithm 9's W_f, GELU, layer norm; W_u tied to W_e")
    else:
        notes.append(NO_HEAD_NOTE)
    return cfg, notes


def bert_layout(hf: HFConfig, head: bool, *, vocab_size: int, l_max: int, norm_eps: float,
                token_types: int) -> ModelConfig:
    """Algorithm 9 as BERT (and RoBERTa) configure it: post-norm layers, a layer norm after
    the embedding, an MLM head when ``head``; the arguments are the family's defaults."""
    return ModelConfig(
        arch="encoder",
        vocab_size=hf.int("vocab_size", vocab_size),
        l_max=l_max,
        d_e=hf.int("hidden_size", 768),
        n_heads=hf.int("num_attention_heads", 12),
        n_layers=hf.int("num_hidden_layers", 12),
        d_mlp=hf.int("intermediate_size", 3072),
        norm_placement="post",
        activation=hf.activation("hidden_act", "gelu"),
        tie_unembedding=hf.bool("tie_word_embeddings", True) or not head,
        norm_eps=hf.float("layer_norm_eps", norm_eps),
        embed_norm=True,
        n_token_types=hf.int("type_vocab_size", token_types),
        final_head=head,
        unembed_bias=head,
    )


def bert_layers(maps: WeightMap, cfg: ModelConfig) -> None:
    """The L post-norm layers as BERT (and RoBERTa) name them, ``encoder.layer.{i}``."""
    d = cfg.d_e
    for i in range(cfg.n_layers):
        ours, name = f"stack.blocks.{i}", f"encoder.layer.{i}"
        for part, hf_part in (("W_q", "query"), ("W_k", "key"), ("W_v", "value")):
            maps.linear(
                f"{ours}.attn.{part}", f"{name}.attention.self.{hf_part}", d, d, f"layer {i} {part}"
            )
        maps.linear(f"{ours}.attn.W_o", f"{name}.attention.output.dense", d, d, f"layer {i} W_o")
        maps.norm(
            f"{ours}.attn_norm",
            f"{name}.attention.output.LayerNorm",
            d,
            f"layer {i} attention norm",
            legacy=True,
        )
        maps.linear(
            f"{ours}.mlp.W_mlp1", f"{name}.intermediate.dense", cfg.d_mlp, d, f"layer {i} W_mlp1"
        )
        maps.linear(f"{ours}.mlp.W_mlp2", f"{name}.output.dense", d, cfg.d_mlp, f"layer {i} W_mlp2")
        maps.norm(
            f"{ours}.mlp_norm", f"{name}.output.LayerNorm", d, f"layer {i} MLP norm", legacy=True
        )


def load_weights(hf: HFConfig, cfg: ModelConfig, source: TensorSource) -> WeightMap:
    anchor = "embeddings.word_embeddings.weight"
    prefix = source.find_prefix(anchor, ("bert.", ""))
    maps = WeightMap(source, "bert." if prefix is None else prefix)
    d, V = cfg.d_e, cfg.vocab_size
    maps.put("stack.embed.token.W_e.weight", anchor, (V, d), "token embedding W_e")
    maps.put(
        "stack.embed.position.W_p.weight",
        "embeddings.position_embeddings.weight",
        (cfg.l_max, d),
        "position embedding W_p",
    )
    maps.put(
        "stack.embed.W_t.weight",
        "embeddings.token_type_embeddings.weight",
        (cfg.n_token_types, d),
        "token-type embedding",
    )
    maps.norm("stack.embed.norm", "embeddings.LayerNorm", d, "embedding norm", legacy=True)
    bert_layers(maps, cfg)
    W_e = maps.state["stack.embed.token.W_e.weight"]
    maps.set("unembed.W_u.weight", W_e, maps.origin["stack.embed.token.W_e.weight"])
    if cfg.final_head:
        head = WeightMap(source, f"{HEAD}.")
        head.linear("head.W_f", "transform.dense", d, d, "MLM head W_f")
        head.norm("head.norm", "transform.LayerNorm", d, "MLM head norm", legacy=True)
        bias = "bias" if f"{HEAD}.bias" in source else "decoder.bias"
        head.put("unembed.W_u.bias", bias, (V,), "unembedding bias")
        if not cfg.tie_unembedding:  # tie_word_embeddings false: W_u stored on its own
            head.put("unembed.W_u.weight", "decoder.weight", (V, d), "unembedding W_u")
        maps.state.update(head.state)
        maps.origin.update(head.origin)
    return maps
