"""One frozen config dataclass describes every model (STYLE: nanoGPT's GPTConfig)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

ARCHS = ("decoder", "encoder", "encoder-decoder")
NORMS = ("layer", "rms")
PLACEMENTS = ("pre", "post")
POSITIONS = ("learned", "sinusoidal", "none")
ACTIVATIONS = ("gelu", "gelu_tanh", "relu", "silu")
SINUSOID_STYLES = ("paper", "halves")

# The paper's defaults per architecture: Alg 8 post-norm + ReLU, Alg 9 post-norm + GELU,
# Alg 10 pre-norm + GELU.
_ARCH_DEFAULTS = {
    "decoder": {"norm_placement": "pre", "activation": "gelu"},
    "encoder": {"norm_placement": "post", "activation": "gelu"},
    "encoder-decoder": {"norm_placement": "post", "activation": "relu"},
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
        }
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

    def replace(self, **changes: Any) -> ModelConfig:
        """A copy with some fields changed (defaults of the new arch re-resolved)."""
        data = self.to_dict()
        if "arch" in changes and changes["arch"] != self.arch:
            for key in ("norm_placement", "activation", "final_head"):
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
