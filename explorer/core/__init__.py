"""The paper's Algorithms 1-10 (and 14-15) in plain PyTorch. No Qt, no numpy views."""

from explorer.core.attention import (
    MHAttention,
    attention,
    single_query_attention,
    unidirectional_mask,
)
from explorer.core.config import ModelConfig
from explorer.core.embedding import (
    Embedding,
    PositionalEmbedding,
    TokenEmbedding,
    sinusoidal_table,
)
from explorer.core.hooks import HookPoint
from explorer.core.inference import (
    GenerationStep,
    d_inference_steps,
    ed_generate,
    ed_inference_steps,
    generate,
    next_token_distribution,
    tempered,
    truncate,
)
from explorer.core.mlp import MLP, activate
from explorer.core.models import (
    DTransformer,
    EDTransformer,
    ETransformer,
    Prefix,
    TransformerModel,
    Unembedding,
    build_model,
)
from explorer.core.norm import LayerNorm, RMSNorm, make_norm
from explorer.core.serialization import load_model, read_config, save_model

__all__ = [
    "DTransformer",
    "EDTransformer",
    "ETransformer",
    "GenerationStep",
    "Embedding",
    "HookPoint",
    "LayerNorm",
    "MHAttention",
    "MLP",
    "ModelConfig",
    "PositionalEmbedding",
    "Prefix",
    "RMSNorm",
    "TokenEmbedding",
    "TransformerModel",
    "Unembedding",
    "activate",
    "attention",
    "build_model",
    "d_inference_steps",
    "ed_generate",
    "ed_inference_steps",
    "generate",
    "next_token_distribution",
    "tempered",
    "truncate",
    "load_model",
    "make_norm",
    "read_config",
    "save_model",
    "single_query_attention",
    "sinusoidal_table",
    "unidirectional_mask",
]
