"""One frozen config dataclass describes every model (STYLE: nanoGPT's GPTConfig)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

ARCHS = ("decoder", "encoder", "encoder-decoder")
NORMS = ("layer", "rms")
PLACEMENTS = ("pre", "post")
POSITIONS = ("learned", "sinusoidal", "none", "rotary")
ACTIVATIONS = ("gelu", "gelu_tanh", "relu", "silu", "swiglu")
# Variants that are not in the paper (extensions), named as the trace and the Paper panel
# name them: config field and value -> (what, reference).
EXTENSIONS = {
    ("positions", "rotary"): "rotary positions, Su et al. 2021",
    ("activation", "swiglu"): "gated SiLU MLP (SwiGLU), Shazeer 2020",
    ("n_kv_heads", "grouped"): "grouped-query attention, Ainslie et al. 2023",
}
SINUSOID_STYLES = ("paper", "halves")

# The paper's defaults per architecture: Alg 8 post-norm + ReLU, Alg 9 post-norm + GELU,
# Alg 10 pre-norm + GELU.
_ARCH_DEFAULTS = {
    "decoder": {"norm_placement": "pre", "activation": "gelu"},
    "encoder": {"norm_placement": "post", "activation": "gelu"},
    "encoder-decoder": {"norm_placement": "post", "activation": "relu"},
}

# Fields whose default is another field's value (``replace`` keeps them following it).
_FOLLOWS = {
    "n_enc_heads": "n_heads",
    "n_dec_heads": "n_heads",
    "n_kv_heads": "n_heads",
    "d_enc_mlp": "d_mlp",
    "d_dec_mlp": "d_mlp",
    "qkv_bias": "bias",
    "out_bias": "bias",
}

ARCH_ALGORITHM = {"encoder-decoder": 8, "encoder": 9, "decoder": 10}
ARCH_NAME = {
    "encoder-decoder": "EDTransformer",
    "encoder": "ETransformer",
    "decoder": "DTransformer",
}


@dataclass(frozen=True)
class ModelConfig:
    """The sizes and variants of one transformer, in the paper's symbols.

    ``None`` fields take the paper's default for the architecture: ``d_attn`` and
    ``d_mid`` are ``d_e / n_heads``, ``d_mlp`` is ``4 d_e``, ``norm_placement`` and
    ``activation`` follow Algorithms 8-10, ``n_enc_layers``/``n_dec_layers`` are
    ``n_layers``, and the encoder's final head (Alg 9's W_f, GELU, layer norm) is on.

    Per-stack sizes (Algorithm 8): ``n_enc_heads``/``n_dec_heads`` and
    ``d_enc_mlp``/``d_dec_mlp`` default to ``n_heads`` and ``d_mlp``; a stack whose head
    count differs from ``n_heads`` uses head sizes d_e / its heads (see ``stack_sizes``).
    The decoder's cross-attention has the decoder's heads.

    Extensions beyond the paper (``EXTENSIONS``): ``positions="rotary"`` (no W_p; q and
    k rotated by position, base ``rope_base``, positions divided by ``rope_scale``),
    ``activation="swiglu"`` (W_mlp2 (SiLU(W_mlp1 X) ⊙ W_up X)) and ``n_kv_heads`` < H
    (grouped-query attention: query heads share key/value heads).
    ``qkv_bias``/``out_bias`` (None = ``bias``) switch the biases of W_q, W_k, W_v and
    of W_o apart from the MLP's (Qwen2 has the first only).
    """

    arch: str
    vocab_size: int
    l_max: int
    d_e: int = 64
    n_heads: int = 4
    n_layers: int = 2
    d_mlp: int | None = None
    d_attn: int | None = None
    d_mid: int | None = None
    n_enc_layers: int | None = None
    n_dec_layers: int | None = None
    norm: str = "layer"
    norm_placement: str | None = None
    positions: str = "learned"
    activation: str | None = None
    tie_unembedding: bool = False
    bias: bool = True
    # Variants needed by real checkpoints (GPT-2, BERT, BART, Marian).
    norm_eps: float = 1e-5
    scale_embedding: bool = False
    embed_norm: bool = False
    n_token_types: int = 0
    final_head: bool | None = None
    unembed_bias: bool = False
    shared_positions: bool = True
    sinusoid_base: float | None = None
    sinusoid_style: str = "paper"
    # Classification (P(c|x)) with an encoder: a class head on position 0.
    n_classes: int = 0
    # Per-stack sizes of the encoder-decoder (None = n_heads / d_mlp).
    n_enc_heads: int | None = None
    n_dec_heads: int | None = None
    d_enc_mlp: int | None = None
    d_dec_mlp: int | None = None
    # Extensions of the paper (Llama-style decoders); see EXTENSIONS.
    n_kv_heads: int | None = None
    rope_base: float = 10000.0
    rope_scale: float = 1.0
    qkv_bias: bool | None = None
    out_bias: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise ValueError(f"arch must be one of {ARCHS}, not {self.arch!r}")
        defaults = _ARCH_DEFAULTS[self.arch]
        resolved = {
            "norm_placement": self.norm_placement or defaults["norm_placement"],
            "activation": self.activation or defaults["activation"],
            "d_mlp": self.d_mlp if self.d_mlp is not None else 4 * self.d_e,
            "n_enc_layers": self.n_enc_layers if self.n_enc_layers is not None else self.n_layers,
            "n_dec_layers": self.n_dec_layers if self.n_dec_layers is not None else self.n_layers,
            "final_head": (self.arch == "encoder") if self.final_head is None else self.final_head,
            "n_enc_heads": self.n_heads if self.n_enc_heads is None else self.n_enc_heads,
            "n_dec_heads": self.n_heads if self.n_dec_heads is None else self.n_dec_heads,
            "n_kv_heads": self.n_heads if self.n_kv_heads is None else self.n_kv_heads,
            "qkv_bias": self.bias if self.qkv_bias is None else self.qkv_bias,
            "out_bias": self.bias if self.out_bias is None else self.out_bias,
        }
        d_mlp = resolved["d_mlp"]
        resolved["d_enc_mlp"] = d_mlp if self.d_enc_mlp is None else self.d_enc_mlp
        resolved["d_dec_mlp"] = d_mlp if self.d_dec_mlp is None else self.d_dec_mlp
        if self.n_heads < 1:
            raise ValueError(f"n_heads must be at least 1, not {self.n_heads}")
        for name in ("d_attn", "d_mid"):
            if getattr(self, name) is None:
                if self.d_e % self.n_heads:
                    raise ValueError(
                        f"d_e={self.d_e} is not divisible by n_heads={self.n_heads}; "
                        f"give {name} explicitly"
                    )
                resolved[name] = self.d_e // self.n_heads
        for key, value in resolved.items():
            object.__setattr__(self, key, value)
        self._validate()

    def _validate(self) -> None:
        for name in ("vocab_size", "l_max", "d_e", "d_mlp", "d_attn", "d_mid"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be a positive integer, not {getattr(self, name)}")
        for name in ("n_layers", "n_enc_layers", "n_dec_layers", "n_token_types", "n_classes"):
            if int(getattr(self, name)) < 0:
                raise ValueError(f"{name} must not be negative, not {getattr(self, name)}")
        for name in ("n_enc_heads", "n_dec_heads", "n_kv_heads", "d_enc_mlp", "d_dec_mlp"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be a positive integer, not {getattr(self, name)}")
        if self.arch != "encoder-decoder":
            for name in ("n_enc_heads", "n_dec_heads"):
                if getattr(self, name) != self.n_heads:
                    raise ValueError(f"{name} is for arch='encoder-decoder'; use n_heads")
            for name in ("d_enc_mlp", "d_dec_mlp"):
                if getattr(self, name) != self.d_mlp:
                    raise ValueError(f"{name} is for arch='encoder-decoder'; use d_mlp")
        for stack in ("encoder", "decoder"):
            heads = self.n_enc_heads if stack == "encoder" else self.n_dec_heads
            if heads != self.n_heads and self.d_e % heads:
                raise ValueError(
                    f"d_e={self.d_e} is not divisible by the {stack}'s {heads} heads"
                )
        if self.n_kv_heads != self.n_heads:
            if self.n_heads % self.n_kv_heads:
                raise ValueError(
                    f"n_heads={self.n_heads} is not a multiple of n_kv_heads={self.n_kv_heads}"
                    " (each key/value head serves the same number of query heads)"
                )
            if self.arch == "encoder-decoder":
                raise ValueError("grouped-query attention (n_kv_heads) needs arch 'decoder' "
                                 "or 'encoder'")
            if self.d_attn != self.d_mid:
                raise ValueError("grouped-query attention needs d_attn = d_mid")
        if self.positions == "rotary":
            if self.d_attn % 2:
                raise ValueError(f"rotary positions need an even d_attn, not {self.d_attn}")
            if self.rope_base <= 1 or self.rope_scale <= 0:
                raise ValueError("rotary positions need rope_base > 1 and rope_scale > 0")
        if self.activation == "swiglu" and self.final_head:
            raise ValueError("the SwiGLU MLP is for the layers; the encoder's final head "
                             "(final_head) needs gelu, gelu_tanh, relu or silu")
        choices = {
            "norm": NORMS,
            "norm_placement": PLACEMENTS,
            "positions": POSITIONS,
            "activation": ACTIVATIONS,
            "sinusoid_style": SINUSOID_STYLES,
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, not {getattr(self, name)!r}")
        if self.positions == "sinusoidal" and self.d_e % 2:
            raise ValueError(f"sinusoidal positions need an even d_e, not {self.d_e}")
        if self.n_classes and self.arch != "encoder":
            raise ValueError("a class head (n_classes > 0) needs arch='encoder'")

    # -- convenience -----------------------------------------------------------------
    @property
    def algorithm(self) -> int:
        """The paper's algorithm number for this architecture (8, 9 or 10)."""
        return ARCH_ALGORITHM[self.arch]

    @property
    def algorithm_name(self) -> str:
        return ARCH_NAME[self.arch]

    @property
    def causal(self) -> bool:
        return self.arch == "decoder"

    def stack_sizes(self, stack: str | None = None) -> dict[str, int]:
        """Heads, key/value heads, d_attn, d_mid and d_mlp of one stack's layers.

        ``stack`` is "encoder", "decoder" or None (the one stack of Alg 9 and 10).
        """
        heads, d_mlp = self.n_heads, self.d_mlp
        if self.arch == "encoder-decoder" and stack in ("encoder", "decoder"):
            heads = self.n_enc_heads if stack == "encoder" else self.n_dec_heads
            d_mlp = self.d_enc_mlp if stack == "encoder" else self.d_dec_mlp
        if heads == self.n_heads:
            d_attn, d_mid = self.d_attn, self.d_mid
        else:
            d_attn = d_mid = self.d_e // heads
        kv = self.n_kv_heads if heads == self.n_heads else heads
        return {"n_heads": heads, "n_kv_heads": kv, "d_attn": d_attn, "d_mid": d_mid,
                "d_mlp": d_mlp}

    def kv_groups(self, stack: str | None = None) -> list[list[int]]:
        """For each key/value head g, the query heads (0-based) that share it."""
        sizes = self.stack_sizes(stack)
        per = sizes["n_heads"] // sizes["n_kv_heads"]
        return [list(range(g * per, (g + 1) * per)) for g in range(sizes["n_kv_heads"])]

    @property
    def extensions(self) -> list[str]:
        """What this model does that the paper does not, e.g. "rotary positions, Su et al."."""
        found = []
        if self.positions == "rotary":
            found.append(EXTENSIONS[("positions", "rotary")])
        if self.activation == "swiglu":
            found.append(EXTENSIONS[("activation", "swiglu")])
        if self.n_kv_heads != self.n_heads:
            found.append(EXTENSIONS[("n_kv_heads", "grouped")])
        return found

    def replace(self, **changes: Any) -> ModelConfig:
        """A copy with some fields changed (defaults of the new arch re-resolved)."""
        data = self.to_dict()
        if "arch" in changes and changes["arch"] != self.arch:
            for key in ("norm_placement", "activation", "final_head"):
                data[key] = None
        for key, base in _FOLLOWS.items():  # a field that followed its base keeps following
            if base in changes and key not in changes and data[key] == data[base]:
                data[key] = None
        data.update(changes)
        return ModelConfig.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown model config field(s): {', '.join(unknown)}")
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ModelConfig:
        return cls.from_dict(json.loads(text))
