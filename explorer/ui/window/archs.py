"""The architectures the window offers (the toolbar's picker and the New model dialog)."""

from __future__ import annotations

ARCH_NAMES = ("decoder", "encoder", "encoder-decoder")
ARCH_ITEMS = (
    ("decoder", "Decoder-only · GPT-like · Alg 10"),
    ("encoder", "Encoder-only · BERT-like · Alg 9"),
    ("encoder-decoder", "Encoder–decoder · Alg 8"),
)
