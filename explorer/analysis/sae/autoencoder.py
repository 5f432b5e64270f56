"""A sparse autoencoder: x ≈ x̂ = W_decᵀ f(x) + b_dec, f sparse (Qt-free).

Weights in SAELens's layout (row vectors, ``x`` of shape (…, d_in))::

    pre  = (x − b_dec) W_enc + b_enc          # (…, d_sae); b_dec subtracted when
                                              # apply_b_dec_to_input
    f    = ReLU(pre)                          # "standard" (Bricken et al. 2023, L1 penalty)
         = ReLU(pre) on the k largest, else 0 # "topk" (Gao et al. 2024)
         = ReLU(pre) · [pre > threshold]      # "jumprelu" (opened, never trained here)
    x̂    = f W_dec + b_dec                    # W_dec (d_sae, d_in): row f is feature f's
                                              # decoder direction (the paper's column)

Training keeps each decoder direction of unit norm (``normalise_decoder``).
"""

from __future__ import annotations

import torch
from torch import nn

ARCHITECTURES = ("topk", "standard", "jumprelu")
TRAINABLE = {"topk": "topk", "relu": "standard"}  # --kind -> architecture


class SparseAutoencoder(nn.Module):
    """Encoder W_enc (d_in, d_sae), b_enc; decoder W_dec (d_sae, d_in), b_dec."""

    def __init__(self, d_in: int, d_sae: int, architecture: str = "topk", k: int | None = None,
                 apply_b_dec_to_input: bool = True, seed: int = 0) -> None:
        super().__init__()
        if architecture not in ARCHITECTURES:
            raise ValueError(f"unknown SAE architecture {architecture!r}: use one of "
                             f"{', '.join(ARCHITECTURES)}")
        if architecture == "topk" and not (isinstance(k, int) and 0 < k <= d_sae):
            raise ValueError(f"a TopK SAE needs k between 1 and d_sae={d_sae}, not {k!r}")
        self.d_in, self.d_sae, self.architecture = d_in, d_sae, architecture
        self.k = k if architecture == "topk" else None
        self.apply_b_dec_to_input = apply_b_dec_to_input
        gen = torch.Generator().manual_seed(seed)
        w_dec = torch.randn(d_sae, d_in, generator=gen)
        w_dec /= w_dec.norm(dim=1, keepdim=True)
        self.W_dec = nn.Parameter(w_dec)
        # Gao et al.: the encoder starts as the decoder's transpose
        self.W_enc = nn.Parameter(w_dec.t().contiguous() * (1.0 if self.k else 0.1))
        self.b_enc = nn.Parameter(torch.zeros(d_sae))
        self.b_dec = nn.Parameter(torch.zeros(d_in))
        self.register_buffer("threshold", torch.zeros(d_sae) if architecture == "jumprelu"
                             else torch.zeros(0))

    def pre_activations(self, x: torch.Tensor) -> torch.Tensor:
        """(…, d_sae): (x − b_dec) W_enc + b_enc (without the b_dec when not applied)."""
        if self.apply_b_dec_to_input:
            x = x - self.b_dec
        return x @ self.W_enc + self.b_enc

    def activate(self, pre: torch.Tensor) -> torch.Tensor:
        """The sparse code f from the pre-activations."""
        if self.architecture == "topk":
            top = pre.topk(self.k, dim=-1)
            return torch.zeros_like(pre).scatter(-1, top.indices, top.values.relu())
        if self.architecture == "jumprelu":
            return pre.relu() * (pre > self.threshold)
        return pre.relu()

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.activate(self.pre_activations(x))

    def decode(self, f: torch.Tensor) -> torch.Tensor:
        return f @ self.W_dec + self.b_dec

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    @torch.no_grad()
    def normalise_decoder(self) -> None:
        """Each feature's decoder direction W_dec[f] rescaled to unit norm."""
        self.W_dec /= self.W_dec.norm(dim=1, keepdim=True).clamp_min(1e-12)

    @torch.no_grad()
    def remove_parallel_gradient(self) -> None:
        """Drop the part of W_dec's gradient along each direction (it would only change the
        norm that ``normalise_decoder`` resets)."""
        g = self.W_dec.grad
        if g is not None:
            g -= (g * self.W_dec).sum(dim=1, keepdim=True) * self.W_dec

    @property
    def label(self) -> str:
        kind = f"TopK k={self.k}" if self.k else {"standard": "ReLU",
                                                  "jumprelu": "JumpReLU"}[self.architecture]
        return f"{kind}, {self.d_sae} features on d={self.d_in}"
