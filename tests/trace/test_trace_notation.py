"""The paper's notation typeset: no raw markup left in any step or pseudocode line, and
known cases give the expected rich text."""

from __future__ import annotations

import re

import pytest
import torch

from explorer.core import ModelConfig, build_model
from explorer.trace import record
from explorer.trace.notation import to_html
from explorer.trace.pseudocode import ALGORITHMS

NAMES = re.compile(r"\b[a-z]{2,}_[a-z]+\b")  # layer_norm, bos_token: names, not markup


def plain(rich: str) -> str:
    """What the reader sees: the tags gone, the entities decoded."""
    text = re.sub(r"<[^>]+>", "", rich)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def raw_markup(text: str) -> bool:
    return "^" in text or "_" in NAMES.sub("", text)


CONFIGS = [
    dict(arch="decoder"),
    dict(arch="encoder"),
    dict(arch="encoder-decoder"),
    dict(arch="decoder", norm="rms", positions="sinusoidal", norm_placement="post"),
]


@pytest.mark.parametrize("kwargs", CONFIGS, ids=lambda k: "-".join(map(str, k.values())))
def test_no_step_shows_raw_markup(kwargs):
    cfg = ModelConfig(vocab_size=30, l_max=16, d_e=16, n_heads=2, n_layers=2, **kwargs)
    model = build_model(cfg)
    x = torch.randint(0, 30, (1, 5))
    z = torch.randint(0, 30, (1, 4)) if cfg.arch == "encoder-decoder" else None
    _, trace = record(model, x, z) if z is not None else record(model, x)
    for step in trace.steps:
        for text in (step.title, step.formula, step.shape):
            shown = plain(to_html(text))
            assert not raw_markup(shown), (step.name, text, shown)


def test_no_pseudocode_line_shows_raw_markup():
    for alg in ALGORITHMS.values():
        for text in (alg.title, *alg.header, *alg.lines):
            assert not raw_markup(plain(to_html(text))), (alg.number, text)


@pytest.mark.parametrize("markup, rich", [
    ("W_q^h X̃ + b_q^h 1ᵀ",
     "<i>W</i><sub><i>q</i></sub><sup><i>h</i></sup> <i>X̃</i> + "
     "<i>b</i><sub><i>q</i></sub><sup><i>h</i></sup> 1ᵀ"),
    ("W_mlp2^l GELU(W_mlp1^l X̃)",
     "<i>W</i><sub>mlp2</sub><sup><i>l</i></sup> GELU(<i>W</i><sub>mlp1</sub>"
     "<sup><i>l</i></sup> <i>X̃</i>)"),
    ("γ_l¹", "γ<sub><i>l</i></sub>¹"),
    ("ℓ_z", "ℓ<sub><i>z</i></sub>"),
    ("ℝ^{d_attn×ℓ_x}", "ℝ<sup><i>d</i><sub>attn</sub>×ℓ<sub><i>x</i></sub></sup>"),
    ("q ∝ p^(1/τ)", "<i>q</i> ∝ <i>p</i><sup>1/τ</sup>"),
    ("layer_norm(X[:, t] | γ, β)", "layer_norm(<i>X</i>[:, <i>t</i>] | γ, β)"),
    ("a token ID", "a token ID"),
    ("S < T & U", "<i>S</i> &lt; <i>T</i> &amp; <i>U</i>"),
])
def test_known_cases(markup, rich):
    assert to_html(markup) == rich
