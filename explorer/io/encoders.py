"""RoBERTa and DistilBERT onto Algorithm 9, the ETransformer.

RoBERTa is BERT's layout (post-norm layers, a layer norm after the embedding, the
masked-language-model head W_f, GELU, layer norm, W_u tied to W_e with a bias) under
the prefix ``roberta.``. Its position table starts at row padding_idx + 1 (Hugging
Face counts positions from there, padding tokens take row padding_idx); those first
rows are sliced off, so W_p[:, t] is the row a real token at position t reads.
DistilBERT is the same algorithm with no token types, its own weight names
(``q_lin``, ``sa_layer_norm``, ``ffn.lin1`` …) and its head in ``vocab_transform``,
``vocab_layer_norm`` and ``vocab_projector``.
"""

from __future__ import annotations

from explorer.core import ModelConfig
from explorer.io.bert import NO_HEAD_NOTE, bert_layers, bert_layout
from explorer.io.errors import CheckpointError
from explorer.io.hf_config import HFConfig, WeightMap
from explorer.io.tensors import TensorSource

FAMILY = {"roberta": "RoBERTa", "distilbert": "DistilBERT"}
MODEL_TYPES = ("roberta", "distilbert")
ARCHITECTURES = ("RobertaForMaskedLM", "RobertaModel", "DistilBertForMaskedLM", "DistilBertModel")
IGNORED_SUFFIXES = ("position_ids",)


def _has_head(hf: HFConfig, source: TensorSource | None, anchor: str, arch: str) -> bool:
    if source is not None and anchor in source:
        return True
    return arch in hf.architectures


def _roberta_config(hf: HFConfig, source: TensorSource | None):
    hf.require("position_embedding_type", ("absolute",), "absolute")
    hf.require("is_decoder", (False,), False)
    hf.require("add_cross_attention", (False,), False)
    head = _has_head(hf, source, "lm_head.dense.weight", "RobertaForMaskedLM")
    if head:  # RoBERTa's head applies exact GELU whatever hidden_act says
        hf.require("hidden_act", ("gelu",), "gelu")
    pad = hf.int("pad_token_id", 1)
    rows = hf.int("max_position_embeddings", 514)
    if rows <= pad + 1:
        raise CheckpointError(f"{hf.path}: max_position_embeddings={rows} leaves no position "
                              f"after the padding offset pad_token_id + 1 = {pad + 1}")
    cfg = bert_layout(hf, head, vocab_size=50265, l_max=rows - pad - 1, norm_eps=1e-5,
                      token_types=1)
    notes = [
        "BERT's layout: post-norm layers, a layer norm after the embedding",
        f"position table rows 0-{pad} (padding offset) removed: W_p[:, t] is row "
        f"t + {pad + 1}",
    ]
    notes.append("MLM head = Algorithm 9's W_f, GELU, layer norm; W_u tied to W_e"
                 if head else NO_HEAD_NOTE)
    return cfg, notes


def _distilbert_config(hf: HFConfig, source: TensorSource | None):
    head = _has_head(hf, source, "vocab_transform.weight", "DistilBertForMaskedLM")
    cfg = ModelConfig(
        arch="encoder",
        vocab_size=hf.int("vocab_size", 30522),
        l_max=hf.int("max_position_embeddings", 512),
        d_e=hf.int("dim", 768),
        n_heads=hf.int("n_heads", 12),
        n_layers=hf.int("n_layers", 6),
        d_mlp=hf.int("hidden_dim", 3072),
        norm_placement="post",
        activation=hf.activation("activation", "gelu"),
        tie_unembedding=hf.bool("tie_word_embeddings", True) or not head,
        norm_eps=1e-12,
        embed_norm=True,
        final_head=head,
        unembed_bias=head,
    )
    notes = ["post-norm layers, a layer norm after the embedding, no token types"]
    if hf.bool("sinusoidal_pos_embds", False):
        notes.append("sinusoidal positions, stored in the checkpoint as the W_p table")
    notes.append("MLM head = Algorithm 9's W_f, activation, layer norm; W_u tied to W_e"
                 if head else NO_HEAD_NOTE)
    return cfg, notes


def model_config(hf: HFConfig, source: TensorSource | None = None):
    if hf.model_type == "roberta":
        return _roberta_config(hf, source)
    return _distilbert_config(hf, source)


def _unembedding(maps: WeightMap, cfg: ModelConfig, source: TensorSource, names) -> None:
    """W_u tied to W_e (or stored as ``names[0]``) and the logits bias ``names[1]``."""
    weight, bias = names
    W_e = "stack.embed.token.W_e.weight"
    if cfg.tie_unembedding:
        maps.set("unembed.W_u.weight", maps.state[W_e], maps.origin[W_e])
    else:
        shape = (cfg.vocab_size, cfg.d_e)
        maps.set("unembed.W_u.weight", source.get(weight, shape, "unembedding W_u"), weight)
    if cfg.unembed_bias:
        maps.set("unembed.W_u.bias", source.get(bias, (cfg.vocab_size,), "logits bias"), bias)


def _roberta_weights(hf: HFConfig, cfg: ModelConfig, source: TensorSource) -> WeightMap:
    anchor = "embeddings.word_embeddings.weight"
    prefix = source.find_prefix(anchor, ("roberta.", ""))
    maps = WeightMap(source, "roberta." if prefix is None else prefix)
    d, V = cfg.d_e, cfg.vocab_size
    maps.put("stack.embed.token.W_e.weight", anchor, (V, d), "token embedding W_e")
    offset = hf.int("pad_token_id", 1) + 1
    name = "embeddings.position_embeddings.weight"
    table = maps.read(name, (cfg.l_max + offset, d), "position embedding W_p")
    maps.set("stack.embed.position.W_p.weight", table[offset:].clone(), maps.prefix + name)
    maps.put("stack.embed.W_t.weight", "embeddings.token_type_embeddings.weight",
             (cfg.n_token_types, d), "token-type embedding")
    maps.norm("stack.embed.norm", "embeddings.LayerNorm", d, "embedding norm")
    bert_layers(maps, cfg)
    if cfg.final_head:
        head = WeightMap(source, "lm_head.")
        head.linear("head.W_f", "dense", d, d, "MLM head W_f")
        head.norm("head.norm", "layer_norm", d, "MLM head norm")
        maps.state.update(head.state)
        maps.origin.update(head.origin)
    # the decoder's own bias is the one its forward adds (older files tie it to lm_head.bias)
    bias = "lm_head.decoder.bias" if "lm_head.decoder.bias" in source else "lm_head.bias"
    _unembedding(maps, cfg, source, ("lm_head.decoder.weight", bias))
    return maps


def _distilbert_weights(hf: HFConfig, cfg: ModelConfig, source: TensorSource) -> WeightMap:
    anchor = "embeddings.word_embeddings.weight"
    prefix = source.find_prefix(anchor, ("distilbert.", ""))
    maps = WeightMap(source, "distilbert." if prefix is None else prefix)
    d, V, d_mlp = cfg.d_e, cfg.vocab_size, cfg.d_mlp
    maps.put("stack.embed.token.W_e.weight", anchor, (V, d), "token embedding W_e")
    maps.put("stack.embed.position.W_p.weight", "embeddings.position_embeddings.weight",
             (cfg.l_max, d), "position embedding W_p")
    maps.norm("stack.embed.norm", "embeddings.LayerNorm", d, "embedding norm")
    for i in range(cfg.n_layers):
        ours, name = f"stack.blocks.{i}", f"transformer.layer.{i}"
        for part, hf_part in (("W_q", "q_lin"), ("W_k", "k_lin"), ("W_v", "v_lin"),
                              ("W_o", "out_lin")):
            maps.linear(f"{ours}.attn.{part}", f"{name}.attention.{hf_part}", d, d,
                        f"layer {i} {part}")
        maps.norm(f"{ours}.attn_norm", f"{name}.sa_layer_norm", d, f"layer {i} attention norm")
        maps.linear(f"{ours}.mlp.W_mlp1", f"{name}.ffn.lin1", d_mlp, d, f"layer {i} W_mlp1")
        maps.linear(f"{ours}.mlp.W_mlp2", f"{name}.ffn.lin2", d, d_mlp, f"layer {i} W_mlp2")
        maps.norm(f"{ours}.mlp_norm", f"{name}.output_layer_norm", d, f"layer {i} MLP norm")
    if cfg.final_head:
        head = WeightMap(source, "")
        head.linear("head.W_f", "vocab_transform", d, d, "MLM head W_f")
        head.norm("head.norm", "vocab_layer_norm", d, "MLM head norm")
        maps.state.update(head.state)
        maps.origin.update(head.origin)
    _unembedding(maps, cfg, source, ("vocab_projector.weight", "vocab_projector.bias"))
    return maps


def load_weights(hf: HFConfig, cfg: ModelConfig, source: TensorSource) -> WeightMap:
    if hf.model_type == "roberta":
        return _roberta_weights(hf, cfg, source)
    return _distilbert_weights(hf, cfg, source)
