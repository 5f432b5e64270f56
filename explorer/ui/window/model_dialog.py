"""Choosing a fresh model: architecture, size and the paper's variants (norm, positions,
activation, pre/post norm, tied unembedding), and the seed that makes it reproducible."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QWidget,
)

from explorer.ui.window.archs import ARCH_ITEMS

NORMS = (("layer", "LayerNorm (Algorithm 6)"), ("rms", "RMSnorm"))
POSITIONS = (("learned", "learned W_p"), ("sinusoidal", "sinusoidal (fixed)"),
             ("none", "none"), ("rotary", "rotary (not in the paper: Su et al. 2021)"))
ACTIVATIONS = (("", "architecture default"), ("gelu", "GELU"), ("relu", "ReLU"),
               ("gelu_tanh", "GELU (tanh)"), ("silu", "SiLU"),
               ("swiglu", "SwiGLU (not in the paper: gated SiLU)"))
PLACEMENTS = (("", "architecture default"), ("pre", "pre-norm (GPT-2)"),
              ("post", "post-norm (original)"))


def _combo(items, current: str, tip: str) -> QComboBox:
    box = QComboBox()
    for value, label in items:
        box.addItem(label, value)
    index = box.findData(current)
    box.setCurrentIndex(max(index, 0))
    box.setToolTip(tip)
    return box


def _spin(lo: int, hi: int, value: int, tip: str, step: int = 1) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(lo, hi)
    spin.setSingleStep(step)
    spin.setValue(value)
    spin.setToolTip(tip)
    return spin


class NewModelDialog(QDialog):
    """OK gives ``choice()``: keyword arguments for ``explorer.state.random_model``."""

    def __init__(self, arch: str = "decoder", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New model")
        self.arch = _combo(ARCH_ITEMS, arch, "Which of the paper's architectures")
        self.n_layers = _spin(1, 12, 2, "L: number of layers (blocks)")
        self.n_heads = _spin(1, 16, 4, "H: attention heads per layer (d_e must divide by H)")
        self.n_kv_heads = _spin(0, 16, 0, "Key/value heads: fewer than H shares each K and V "
                                "among several query heads (grouped-query attention, not in "
                                "the paper); 0: one per head, as the paper")
        self.n_kv_heads.setSpecialValueText("H (as the paper)")
        self.d_e = _spin(8, 512, 64, "d_e: embedding (residual stream) width", 8)
        self.l_max = _spin(8, 1024, 64, "ℓ_max: the longest input; longer texts are chunked", 8)
        self.norm = _combo(NORMS, "layer", "Layer normalisation or RMS normalisation")
        self.positions = _combo(POSITIONS, "learned", "How token positions are embedded")
        self.activation = _combo(ACTIVATIONS, "", "The MLP's nonlinearity")
        self.placement = _combo(PLACEMENTS, "", "Norm before each sub-layer (pre) or after "
                                                "the residual sum (post)")
        self.tied = QCheckBox("tie W_u to W_eᵀ")
        self.tied.setToolTip("Use the token embedding matrix as the unembedding")
        self.seed = _spin(0, 2**31 - 1, 0, "torch.manual_seed for the initial weights")
        form = QFormLayout(self)
        form.addRow(QLabel("A fresh model with random weights, seeded so it can be rebuilt."))
        for label, widget in (("Architecture", self.arch), ("Layers L", self.n_layers),
                              ("Heads H", self.n_heads), ("Key/value heads", self.n_kv_heads),
                              ("d_e", self.d_e),
                              ("ℓ_max", self.l_max), ("Norm", self.norm),
                              ("Positions", self.positions), ("Activation", self.activation),
                              ("Norm placement", self.placement), ("", self.tied),
                              ("Seed", self.seed)):
            form.addRow(label, widget)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._on_accept)
        buttons.rejected.connect(self.reject)
        self.error = QLabel("")
        self.error.setStyleSheet("color: #b00020;")
        form.addRow(self.error)
        form.addRow(buttons)

    def _on_accept(self) -> None:
        if self.d_e.value() % self.n_heads.value():
            self.error.setText(f"d_e = {self.d_e.value()} is not divisible by "
                               f"H = {self.n_heads.value()}.")
            return
        kv = self.n_kv_heads.value()
        if kv and self.n_heads.value() % kv:
            self.error.setText(f"H = {self.n_heads.value()} query heads cannot share "
                               f"{kv} key/value heads evenly.")
            return
        why = self.too_large()
        if why:
            self.error.setText(why)
            return
        self.accept()

    def config(self):
        """The ``ModelConfig`` that ``random_model(**choice())`` builds (the default
        character tokenizer's vocabulary)."""
        from explorer.core import ModelConfig
        from explorer.state.defaults import DEFAULT_SIZES, default_tokenizer

        sizes = {k: v for k, v in self.choice().items() if k not in ("arch", "seed")}
        sizes = {**DEFAULT_SIZES, **{k: v for k, v in sizes.items() if v is not None}}
        return ModelConfig(arch=self.arch.currentData(),
                           vocab_size=int(default_tokenizer().vocab_size), **sizes)

    def too_large(self) -> str:
        """Why the chosen model would not fit in memory now ("" when it fits)."""
        from explorer.core.budget import check_model_fits

        try:
            check_model_fits(self.config())
        except ValueError as exc:  # ModelTooLarge, or sizes the config refuses
            return f"{str(exc)[0].upper()}{str(exc)[1:]}."
        return ""

    def choice(self) -> dict[str, Any]:
        return {
            "arch": self.arch.currentData(), "seed": self.seed.value(),
            "n_layers": self.n_layers.value(), "n_heads": self.n_heads.value(),
            "d_e": self.d_e.value(), "l_max": self.l_max.value(),
            "norm": self.norm.currentData(), "positions": self.positions.currentData(),
            "activation": self.activation.currentData() or None,
            "norm_placement": self.placement.currentData() or None,
            "tie_unembedding": self.tied.isChecked(),
            "n_kv_heads": self.n_kv_heads.value() or None,
        }
