"""The Infer tab's modes, their titles, and its small numeric controls."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QDoubleSpinBox, QSpinBox

STEP_MS = 150  # one generated token per tick, so the class sees each step
DEBOUNCE_MS = 250
MODES = {  # mode -> (title, what it does)
    "decoder": ("Algorithm 14 · DInference (prompting)",
                "Repeat: P ← DTransformer(x); p ← P[:, last]; sample y ∝ p^(1/τ); x ← [x, y]."),
    "encoder-decoder": ("Algorithm 15 · EDInference: x from z",
                        "x ← [bos]; repeat: p ← EDTransformer(z, x)[:, last]; sample y ∝ "
                        "p^(1/τ); x ← [x, y] until eos or ℓ_max."),
    "fill-mask": ("Fill-mask · ETransformer (Algorithm 9)",
                  "Each masked position's distribution P[:, t] (trained as in Algorithm 12): "
                  "the encoder sees both sides of the mask."),
    "classify": ("Classification · ETransformer with a class head",
                 "P(c | x) = softmax(W_c X[:, 1] + b_c), read at the first (cls) token."),
}


def inference_mode(cfg: Any) -> str:
    """Which of ``MODES`` fits a model of config ``cfg``."""
    if cfg.arch == "encoder":
        return "classify" if int(cfg.n_classes or 0) > 0 else "fill-mask"
    return cfg.arch


def spin_box(lo: int, hi: int, value: int, tip: str, special: str = "") -> QSpinBox:
    box = QSpinBox()
    box.setRange(lo, hi)
    box.setValue(value)
    box.setToolTip(tip)
    if special:
        box.setSpecialValueText(special)
    return box


def real_box(lo: float, hi: float, value: float, step: float, tip: str,
          special: str = "") -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(lo, hi)
    box.setDecimals(2)
    box.setSingleStep(step)
    box.setValue(value)
    box.setToolTip(tip)
    if special:
        box.setSpecialValueText(special)
    return box
