"""The toolbar's model label: which model is shown (elided to the room it has) and, in its
tooltip, the model's shape, variants and notes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

if TYPE_CHECKING:
    from explorer.state import LoadedModel


class ModelLabel(QLabel):
    """The full text is kept in the ``full_text`` property; the label shows it elided."""

    def __init__(self) -> None:
        super().__init__("  Loading…")
        self.setToolTip("Which model is shown, and whether it is trained")
        font = self.font()
        font.setBold(True)
        self.setFont(font)

    def set_model(self, loaded: LoadedModel, room: int) -> None:
        """Name ``loaded`` (elided to ``room`` pixels), with its shape in the tooltip."""
        self.set_text(f"{loaded.cfg.algorithm_name} · {loaded.label}", room)
        self.setToolTip(model_tip(loaded))

    def set_text(self, text: str | None, room: int) -> None:
        """Elided to ``room``, the width the toolbar has beside the architecture picker, so
        it never drops into the toolbar's overflow menu (the tooltip has it all); ``None``:
        the text shown, elided again."""
        if text is None:
            text = self.property("full_text") or self.text()
        self.setProperty("full_text", text)
        metrics = self.fontMetrics()
        self.setText(metrics.elidedText(text, Qt.TextElideMode.ElideMiddle, room))


def model_tip(loaded: LoadedModel) -> str:
    cfg = loaded.cfg
    if cfg.arch == "encoder-decoder":
        stacks = []
        for stack, layers in (("encoder", cfg.n_enc_layers), ("decoder", cfg.n_dec_layers)):
            sizes = cfg.stack_sizes(stack)
            stacks.append(f"{stack}: {layers} layers, {sizes['n_heads']} "
                          f"heads, d_mlp {sizes['d_mlp']}")
        shape = "; ".join(stacks) + f"; d_e {cfg.d_e}"
    else:
        shape = (f"layers {cfg.n_layers}, heads {cfg.n_heads}, d_e {cfg.d_e}, "
                 f"d_mlp {cfg.d_mlp}")
    if cfg.n_kv_heads != cfg.n_heads:
        shape += f", {cfg.n_kv_heads} key/value heads (grouped-query)"
    return (f"{cfg.algorithm_name} (Algorithm {cfg.algorithm}), {cfg.arch}\n"
            f"{shape}, ℓ_max {cfg.l_max}, N_V {cfg.vocab_size}\n"
            f"{cfg.norm} norm ({cfg.norm_placement}), {cfg.positions} positions, "
            f"{cfg.activation}\nparameters: {loaded.model.num_parameters():,}\n"
            f"{loaded.label}" + (f"\nfolder: {loaded.path}" if loaded.path else "")
            + "".join(f"\n· {n}" for n in loaded.notes))
