"""Algorithms 7-10: unembedding and the three architectures.

``build_model(cfg)`` returns a DTransformer (arch "decoder", Alg 10), an ETransformer
("encoder", Alg 9) or an EDTransformer ("encoder-decoder", Alg 8). Forward passes
return logits W_u X (B, l, N_V); the softmax is a separate step, recorded by
``explorer.trace`` and computed only while recording.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from explorer.core.config import ModelConfig
from explorer.core.embedding import Embedding, PositionalEmbedding, TokenEmbedding
from explorer.core.hooks import HookPoint, hook_points
from explorer.core.layers import Layer
from explorer.core.mlp import activate
from explorer.core.norm import make_norm


@dataclass(frozen=True)
class Prefix:
    """The first ``start`` tokens of a decoder's input, computed before.

    ``keys[l]`` and ``values[l]`` (B, H, start, d) are layer l's self-attention keys
    and values of those tokens. Under the unidirectional mask nothing at positions
    before ``start`` depends on later tokens, so a forward pass over the tokens from
    ``start`` on, attending to these keys and values, gives exactly the columns a pass
    over all tokens gives there.

    ``rooms[l]`` (optional): two buffers (B, H, capacity, d) whose first ``start``
    positions are ``keys[l]`` and ``values[l]``. The pass then writes the new positions'
    keys and values into them in place, after the prefix, instead of joining copies
    (``MHAttention``); the caller guarantees that nothing still reads those positions.
    """

    start: int
    keys: tuple[torch.Tensor, ...]
    values: tuple[torch.Tensor, ...]
    rooms: tuple[tuple[torch.Tensor, torch.Tensor], ...] | None = None

    def past(self, layer: int) -> tuple[torch.Tensor, ...]:
        """(K, V) of the prefix, or (K, V, K buffer, V buffer) with ``rooms``."""
        if self.rooms is None:
            return self.keys[layer], self.values[layer]
        return self.keys[layer], self.values[layer], *self.rooms[layer]


class Unembedding(nn.Module):
    """Algorithm 7: unembedding, logits W_u e (softmax recorded separately)."""

    def __init__(self, cfg: ModelConfig, token: TokenEmbedding) -> None:
        super().__init__()
        self.W_u = nn.Linear(cfg.d_e, cfg.vocab_size, bias=cfg.unembed_bias)
        if cfg.tie_unembedding:
            self.W_u.weight = token.W_e.weight  # W_u = W_eᵀ

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.W_u(x)  # (B, l, N_V)


class TransformerModel(nn.Module):
    """What the three architectures share: config, input checks, masks, hooks."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.hook_logits = HookPoint()
        self.hook_probs = HookPoint()

    # -- hooks and modes -------------------------------------------------------------
    def hook_points(self) -> dict[str, HookPoint]:
        return hook_points(self)

    def set_fused_attention(self, fused: bool) -> None:
        """Use torch's fused attention kernel when nothing is recorded (training)."""
        for module in self.modules():
            if hasattr(module, "fused"):
                module.fused = fused

    def num_parameters(self) -> int:
        return sum(p.numel() for p in {id(p): p for p in self.parameters()}.values())

    def _init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    # -- input checks ----------------------------------------------------------------
    def _check_prefix(self, prefix: Prefix | None, x: torch.Tensor,
                      x_mask: torch.Tensor | None, what: str) -> int:
        """The first position of ``x`` (0 without a prefix), after checking the prefix."""
        if prefix is None:
            return 0
        if x_mask is not None:
            raise ValueError(f"a prefix continues one unpadded {what}: give no {what}_mask")
        if len(prefix.keys) != len(prefix.values):
            raise ValueError("a prefix needs as many keys as values")
        return int(prefix.start)

    def _check_ids(self, x: torch.Tensor, what: str, start: int = 0) -> None:
        if not isinstance(x, torch.Tensor):
            raise ValueError(f"{what} must be a LongTensor of token ids, not {type(x).__name__}")
        if x.dtype not in (torch.int64, torch.int32):
            raise ValueError(f"{what} must hold integer token ids, not {x.dtype}")
        if x.dim() != 2:
            raise ValueError(f"{what} must have shape (B, l), not {tuple(x.shape)}")
        B, length = x.shape
        if B == 0 or length == 0:
            raise ValueError(f"{what} is empty (shape {tuple(x.shape)}): need at least one token")
        if start + length > self.cfg.l_max:
            raise ValueError(
                f"{what} has {start + length} tokens, more than l_max={self.cfg.l_max}; "
                "cut it into chunks of at most l_max tokens"
            )
        if x.device.type != "cpu" and torch.is_grad_enabled():
            # Training on an accelerator: no host sync per step; the check runs on the device
            # and stops the work there if an id is out of range. Everywhere else (inference,
            # recording: ids a person may have typed) the host check below gives a message.
            torch._assert_async(((x >= 0) & (x < self.cfg.vocab_size)).all(),
                                f"{what} holds a token id outside [0, {self.cfg.vocab_size})")
            return
        lo, hi = int(x.min()), int(x.max())
        if lo < 0 or hi >= self.cfg.vocab_size:
            bad = lo if lo < 0 else hi
            raise ValueError(
                f"{what} contains token id {bad}, outside the vocabulary [0, {self.cfg.vocab_size})"
            )

    @staticmethod
    def _check_mask(mask: torch.Tensor | None, x: torch.Tensor, what: str) -> None:
        if mask is not None and tuple(mask.shape) != tuple(x.shape):
            raise ValueError(
                f"{what} has shape {tuple(mask.shape)} but its tokens have {tuple(x.shape)}"
            )

    @staticmethod
    def attention_mask(
        l_x: int,
        l_z: int,
        causal: bool,
        key_mask: torch.Tensor | None,
        device: torch.device,
    ) -> torch.Tensor | None:
        """(B|1, 1, l_x, l_z) bool, True where query t_x may attend to key t_z.

        This is the transpose of the paper's Mask[t_z, t_x] (Algorithm 4). With fewer
        queries than keys (l_x < l_z, a decoder continuing a ``Prefix``) the queries are
        the last l_x positions."""
        mask = None
        if causal:
            ones = torch.ones(l_x, l_z, dtype=torch.bool, device=device)
            mask = ones.tril(diagonal=l_z - l_x)[None, None]
        if key_mask is not None:
            keys = key_mask.bool()[:, None, None, :]  # (B, 1, 1, l_z)
            mask = keys if mask is None else mask & keys
        return mask

    def _output(self, h: torch.Tensor) -> torch.Tensor:
        logits = self.hook_logits(self.unembed(h))
        if self.hook_probs.active:
            self.hook_probs(torch.softmax(logits, dim=-1))
        return logits


class _Stack(nn.Module):
    """An embedding, L layers and (pre-norm) a final norm: one side of Algorithm 8."""

    def __init__(
        self,
        cfg: ModelConfig,
        token: TokenEmbedding,
        n_layers: int,
        cross: bool,
        position: PositionalEmbedding | None = None,
        stack: str | None = None,
    ) -> None:
        super().__init__()
        self.embed = Embedding(cfg, token, position)
        self.blocks = nn.ModuleList(
            Layer(cfg, cross=cross, stack=stack) for _ in range(n_layers)
        )
        self.final_norm = make_norm(cfg) if cfg.norm_placement == "pre" else None
        self.hook_final_norm = HookPoint()

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None,
        z: torch.Tensor | None = None,
        z_mask: torch.Tensor | None = None,
        token_types: torch.Tensor | None = None,
        prefix: Prefix | None = None,
    ) -> torch.Tensor:
        start = prefix.start if prefix is not None else 0
        h = self.embed(x, token_types, start)  # (B, l, d_e)
        for i, block in enumerate(self.blocks):
            h = block(h, mask, z, z_mask, prefix.past(i) if prefix is not None else None)
        if self.final_norm is not None:
            h = self.hook_final_norm(self.final_norm(h))
        return h


class DTransformer(TransformerModel):
    """Algorithm 10: DTransformer, decoder-only (GPT-like), unidirectional mask."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__(cfg)
        token = TokenEmbedding(cfg.vocab_size, cfg.d_e)
        self.stack = _Stack(cfg, token, cfg.n_layers, cross=False)
        self.unembed = Unembedding(cfg, token)
        self._init_weights()

    def forward(
        self,
        x: torch.Tensor,
        x_mask: torch.Tensor | None = None,
        prefix: Prefix | None = None,
    ) -> torch.Tensor:
        """x (B, l) token ids -> logits (B, l, N_V); x_mask (B, l) True for real tokens.

        With a ``prefix`` (no x_mask), x holds the tokens from position prefix.start on
        and the logits are those of these positions."""
        start = self._check_prefix(prefix, x, x_mask, "x")
        self._check_ids(x, "x", start)
        self._check_mask(x_mask, x, "x_mask")
        length = x.shape[1]
        mask = self.attention_mask(length, start + length, True, x_mask, x.device)
        return self._output(self.stack(x, mask, prefix=prefix))


class FinalHead(nn.Module):
    """Algorithm 9's last lines: X ← GELU(W_f X + b_f 1ᵀ); X ← layer_norm(X | γ, β)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.activation = cfg.activation
        self.W_f = nn.Linear(cfg.d_e, cfg.d_e, bias=cfg.bias)
        self.norm = make_norm(cfg)
        self.hook_hidden_pre = HookPoint()
        self.hook_hidden = HookPoint()
        self.hook_norm = HookPoint()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.hook_hidden_pre(self.W_f(x))
        h = self.hook_hidden(activate(self.activation, h))
        return self.hook_norm(self.norm(h))


class ETransformer(TransformerModel):
    """Algorithm 9: ETransformer, encoder-only (BERT-like), bidirectional attention.

    With ``n_classes > 0`` a class head reads the final representation of position 0
    (the cls/bos token): P(c | x) = softmax(W_c X[:, 1] + b_c).
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__(cfg)
        token = TokenEmbedding(cfg.vocab_size, cfg.d_e)
        self.stack = _Stack(cfg, token, cfg.n_layers, cross=False)
        self.head = FinalHead(cfg) if cfg.final_head else None
        self.unembed = Unembedding(cfg, token)
        self.classifier = nn.Linear(cfg.d_e, cfg.n_classes) if cfg.n_classes else None
        self.hook_class_logits = HookPoint()
        self.hook_class_probs = HookPoint()
        self._init_weights()

    def encode(
        self,
        x: torch.Tensor,
        x_mask: torch.Tensor | None = None,
        token_types: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The representation after the L layers (B, l, d_e)."""
        self._check_ids(x, "x")
        self._check_mask(x_mask, x, "x_mask")
        mask = self.attention_mask(x.shape[1], x.shape[1], False, x_mask, x.device)
        return self.stack(x, mask, token_types=token_types)

    def forward(
        self,
        x: torch.Tensor,
        x_mask: torch.Tensor | None = None,
        token_types: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """x (B, l) token ids -> logits (B, l, N_V)."""
        h = self.encode(x, x_mask, token_types)
        if self.classifier is not None and self.hook_class_logits.active:
            self._classify(h)
        return self._output(self.head(h) if self.head is not None else h)

    def _classify(self, h: torch.Tensor) -> torch.Tensor:
        logits = self.hook_class_logits(self.classifier(h[:, 0]))  # (B, N_C)
        if self.hook_class_probs.active:
            self.hook_class_probs(torch.softmax(logits, dim=-1))
        return logits

    def classify(self, x: torch.Tensor, x_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Class logits (B, N_C) for P(c | x)."""
        if self.classifier is None:
            raise ValueError("this encoder has no class head (n_classes = 0)")
        return self._classify(self.encode(x, x_mask))


class EDTransformer(TransformerModel):
    """Algorithm 8: EDTransformer, the encoder-decoder of the original transformer.

    The encoder reads the context z; the decoder reads the primary sequence x with a
    unidirectional mask and attends to the encoder's output (cross-attention).
    W_e is shared; W_p too unless ``shared_positions`` is off (BART).
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__(cfg)
        token = TokenEmbedding(cfg.vocab_size, cfg.d_e)
        self.encoder = _Stack(cfg, token, cfg.n_enc_layers, cross=False, stack="encoder")
        position = self.encoder.embed.position if cfg.shared_positions else None
        self.decoder = _Stack(
            cfg, token, cfg.n_dec_layers, cross=True, position=position, stack="decoder"
        )
        self.unembed = Unembedding(cfg, token)
        self._init_weights()

    def encode(self, z: torch.Tensor, z_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Z (B, l_z, d_e): the encoder's output for context z (B, l_z)."""
        self._check_ids(z, "z (context)")
        self._check_mask(z_mask, z, "z_mask")
        mask = self.attention_mask(z.shape[1], z.shape[1], False, z_mask, z.device)
        return self.encoder(z, mask)

    def decode(
        self,
        Z: torch.Tensor,
        x: torch.Tensor,
        z_mask: torch.Tensor | None = None,
        x_mask: torch.Tensor | None = None,
        prefix: Prefix | None = None,
    ) -> torch.Tensor:
        """Logits (B, l_x, N_V) for primary x given the encoder output Z.

        With a ``prefix`` (the decoder's, no x_mask), x holds the primary tokens from
        position prefix.start on and the logits are those of these positions."""
        start = self._check_prefix(prefix, x, x_mask, "x")
        self._check_ids(x, "x (primary)", start)
        self._check_mask(x_mask, x, "x_mask")
        if Z.shape[0] != x.shape[0]:
            raise ValueError(
                f"context and primary batch sizes differ: {Z.shape[0]} vs {x.shape[0]}"
            )
        l_x = x.shape[1]
        mask = self.attention_mask(l_x, start + l_x, True, x_mask, x.device)
        cross = self.attention_mask(l_x, Z.shape[1], False, z_mask, x.device)
        return self._output(self.decoder(x, mask, Z, cross, prefix=prefix))

    def forward(
        self,
        z: torch.Tensor,
        x: torch.Tensor,
        z_mask: torch.Tensor | None = None,
        x_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """z (B, l_z) context, x (B, l_x) primary -> logits (B, l_x, N_V)."""
        if isinstance(z, torch.Tensor) and isinstance(x, torch.Tensor):
            if z.dim() == 2 and x.dim() == 2 and z.shape[0] != x.shape[0]:
                raise ValueError(
                    f"context z and primary x batch sizes differ: {z.shape[0]} vs {x.shape[0]}"
                )
        return self.decode(self.encode(z, z_mask), x, z_mask, x_mask)


MODEL_CLASSES = {"decoder": DTransformer, "encoder": ETransformer, "encoder-decoder": EDTransformer}


def build_model(cfg: ModelConfig) -> TransformerModel:
    """The model of ``cfg.arch`` with freshly initialised weights. Pure: it reads nothing of
    the host; callers that take a config from a person or a file check it first with
    ``explorer.core.budget.check_model_fits`` (io, train, the New model dialog)."""
    return MODEL_CLASSES[cfg.arch](cfg)
