"""Small random models of every architecture and norm variant for the analysis tests
(imported by the tests of this folder; the ``variant`` fixture is in conftest.py)."""

from __future__ import annotations

import torch

from explorer.core import ModelConfig, build_model


def make_model(arch: str = "decoder", seed: int = 0, **changes):
    """A small random model whose weights are large enough that layers matter."""
    torch.manual_seed(seed)
    sizes = {"vocab_size": 37, "l_max": 24, "d_e": 32, "n_heads": 4, "n_layers": 2}
    cfg = ModelConfig(arch=arch, **(sizes | changes))
    model = build_model(cfg).eval()
    with torch.no_grad():  # the 0.02 init leaves every layer a near no-op
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    return model


def ids(n: int = 9, seed: int = 1, vocab: int = 37) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, vocab, (n,), generator=g)


# (arch, config changes) covering pre-/post-norm, layer norm/RMSnorm and all three archs
VARIANTS = {
    "decoder-pre-layer": ("decoder", {}),
    "decoder-pre-rms": ("decoder", {"norm": "rms"}),
    "decoder-post-layer": ("decoder", {"norm_placement": "post"}),
    "decoder-post-rms": ("decoder", {"norm_placement": "post", "norm": "rms",
                                     "unembed_bias": True}),
    "encoder-post-layer": ("encoder", {"final_head": False, "embed_norm": True,
                                       "n_token_types": 2}),
    "encoder-pre-rms": ("encoder", {"final_head": False, "norm_placement": "pre",
                                    "norm": "rms", "positions": "sinusoidal"}),
    "encoder-mlm-head": ("encoder", {}),
    "seq2seq-post-layer": ("encoder-decoder", {}),
    "seq2seq-pre-rms": ("encoder-decoder", {"norm_placement": "pre", "norm": "rms",
                                            "tie_unembedding": True}),
}


def inputs_for(model, n: int = 9):
    """(ids, context) for the model's architecture."""
    if model.cfg.arch == "encoder-decoder":
        return ids(n, seed=2), ids(n + 3, seed=3)
    return ids(n), None


def model_args(model, x, z):
    x = torch.as_tensor(x)[None]
    return (x,) if z is None else (torch.as_tensor(z)[None], x)
