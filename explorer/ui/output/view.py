"""The output distribution at one position as ranked bars, reshaped live by a temperature.

Public API: ``OutputDistributionWidget(parent=None)`` (a QWidget).

- ``set_logits(logits, token_strings, position_labels, title=None)``: ``logits`` a numpy array
  or torch tensor (l, N_V) (a leading batch of 1 is dropped), the unembedding's output W_u X
  with tokens along the first axis; ``token_strings[i]`` the string of token id i (N_V of
  them; missing ones show as "#i"); ``position_labels[t]`` the input token at position t
  (l of them). ``title`` replaces the default "Next-token distribution P[:, t]" (e.g. for a
  masked-token model). Keeps the position when it still exists, else shows the last one.
- ``set_position(t)``: which column t of P (0-based; negative counts from the end);
  ``position`` -> int. Signal ``position_changed(int)``.
- ``temperature`` (property, float): τ ≥ 0; 0 means greedy ("τ → 0 (greedy)": all mass on
  the arg max), otherwise clipped to 0.05 .. 5. The slider is log-scaled over 0.05 .. 5 with
  its leftmost stop = greedy. Signal ``temperature_changed(float)`` on every change.
- ``top_k`` (property, int, default 10, 1 .. 50): how many bars.
- ``distribution() -> np.ndarray`` (N_V,) float64: q = softmax(logits[t] / τ), i.e.
  q ∝ p^(1/τ) (Algorithm 14), one-hot for τ = 0. ``base_distribution()``: p (τ = 1).
- ``shown() -> list[tuple[int, str, float, float]]``: the bars, ranked: (token id, token
  string, q, p).
- ``entropy_bits`` -> float: the entropy of q in bits (shown in the widget, with 2^H).
- ``set_second(logits_b, kl=None, note="")``: a second text B's logits (l_B, N_V) to compare
  with (None: no comparison). Each bar then has B's probability under it, with A − B;
  the tokens are the top k of either text. ``kl`` (aligned positions,) is KL(P_A ‖ P_B) in
  nats at each position, shown for the selected one with ``note`` (lengths that differ).
  ``second_distribution()``: B's q at the position (empty when B has no such position).
- ``clear(message)``; children ``position_box``, ``k_spin``, ``tau_slider``, ``tau_label``,
  ``entropy_label``, ``bars`` (the painted bar chart).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from explorer.ui.output.bars import (
    SLIDER_STEPS,
    TAU_MAX,
    TAU_MIN,
    BarsCanvas,
    as_numpy,
    entropy_bits,
    slider_to_tau,
    tau_to_slider,
    tempered,
)
from explorer.ui.widgets.export_parts import Caption, Table, ViewParts
from explorer.ui.widgets.style import (
    scaled_font,
    visible_token,
)
from explorer.ui.widgets.typeset import set_typeset

DEFAULT_TITLE = "Next-token distribution P[:, t]"


class OutputDistributionWidget(QWidget):
    """Algorithm 14's distribution: the top-k tokens of q ∝ p^(1/τ) at one position."""

    temperature_changed = Signal(float)
    position_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._logits = np.zeros((0, 0))
        self._tokens: tuple[str, ...] = ()
        self._tau = 1.0
        self._position = 0
        self._follow_last = True  # the position tracks the last token until one is chosen
        self._q = np.zeros(0)
        self._logits_b: np.ndarray | None = None
        self._kl: np.ndarray | None = None
        self._compare_note = ""
        self._qb = np.zeros(0)
        self._names, self._kl_text = ("A", "B"), "KL(P_A ‖ P_B)"

        self.title_label = QLabel(DEFAULT_TITLE)
        self.title_label.setFont(scaled_font(self, 1.35, bold=True))
        self.title_label.setWordWrap(True)
        self.position_box = QComboBox()
        self.position_box.setToolTip("Which column t of P: the distribution after this token")
        self.position_box.setMinimumContentsLength(12)
        self.position_box.currentIndexChanged.connect(self._on_position_box_changed)
        self._position_items: list[str] = []  # what position_box lists
        self.k_spin = QSpinBox()
        self.k_spin.setRange(1, 50)
        self.k_spin.setValue(10)
        self.k_spin.setToolTip("How many of the most likely tokens to show")
        self.k_spin.valueChanged.connect(self._refresh)
        self.tau_slider = QSlider(Qt.Orientation.Horizontal)
        self.tau_slider.setRange(0, SLIDER_STEPS)
        self.tau_slider.setValue(tau_to_slider(1.0))
        self.tau_slider.setToolTip("Temperature τ (log scale 0.05 … 5); far left: τ → 0, greedy")
        self.tau_slider.valueChanged.connect(self._on_slider_changed)
        self.tau_label = QLabel()
        self.tau_label.setMinimumWidth(self.fontMetrics().horizontalAdvance("τ → 0 (greedy)")
                                       * 1.3)
        self.tau_reset = QToolButton()
        self.tau_reset.setText("τ = 1")
        self.tau_reset.setToolTip("Back to the model's own distribution (τ = 1)")
        self.tau_reset.clicked.connect(self._on_tau_reset_clicked)
        self.formula_label = QLabel()
        set_typeset(self.formula_label, "q ∝ p^(1/τ) = softmax(W_u X[:, t] / τ)   (Algorithm 14)")
        self.entropy_label = QLabel()
        self.entropy_label.setWordWrap(True)
        self.kl_label = QLabel()  # KL(P_A ‖ P_B) while comparing with a text B
        self.kl_label.setWordWrap(True)
        self.kl_label.hide()
        self.formula_label.setWordWrap(True)
        self.bars = BarsCanvas()

        for w in (self.position_box, self.k_spin, self.tau_label, self.tau_reset,
                  self.formula_label, self.entropy_label, self.kl_label):
            w.setFont(scaled_font(self, 1.1))
        self.entropy_label.setFont(scaled_font(self, 1.1, bold=True))
        controls = QHBoxLayout()
        for text, widget in (("Position t:", self.position_box), ("Top k:", self.k_spin)):
            label = QLabel(text)
            label.setFont(scaled_font(self, 1.1))
            controls.addWidget(label)
            controls.addWidget(widget)
        controls.addStretch(1)
        tau_row = QHBoxLayout()
        tau_name = QLabel("Temperature:")
        tau_name.setFont(scaled_font(self, 1.1))
        tau_row.addWidget(tau_name)
        tau_row.addWidget(self.tau_slider, 1)
        tau_row.addWidget(self.tau_label)
        tau_row.addWidget(self.tau_reset)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.title_label)
        layout.addLayout(controls)
        layout.addLayout(tau_row)
        layout.addWidget(self.formula_label)
        layout.addWidget(self.entropy_label)
        layout.addWidget(self.kl_label)
        layout.addWidget(self.bars, 1)
        self._show_tau()
        self.clear()

    # data ---------------------------------------------------------------------------------
    def clear(self, message: str = "No output yet: type some text.") -> None:
        self._logits = np.zeros((0, 0))
        self._q = np.zeros(0)
        self.position_box.blockSignals(True)
        self.position_box.clear()
        self.position_box.blockSignals(False)
        self.bars.rows = []
        self.bars.message = message
        self.entropy_label.setText("")
        self.bars.update()

    def set_logits(self, logits, token_strings: Sequence[str],
                   position_labels: Sequence[str], title: str | None = None) -> None:
        array = as_numpy(logits)
        l, n_vocab = array.shape
        if l == 0 or n_vocab == 0:
            self.clear("No tokens: nothing to predict.")
            return
        self._logits = array
        if token_strings is not self._tokens:
            self._tokens = token_strings if isinstance(token_strings, tuple) else tuple(
                str(s) for s in token_strings)
        self.title_label.setText(title or DEFAULT_TITLE)
        labels = list(position_labels)
        if len(labels) != l:
            labels = [f"#{t + 1}" for t in range(l)]
        keep = not self._follow_last and 0 <= self._position < l
        position = self._position if keep else l - 1
        self.position_box.blockSignals(True)
        self._set_positions([f"t = {t + 1} · {visible_token(s)}" for t, s in enumerate(labels)])
        self.position_box.setCurrentIndex(position)
        self.position_box.blockSignals(False)
        self._position = position
        self._refresh()

    def _set_positions(self, items: list[str]) -> None:
        """The position choices: the ones an edit kept stay, the rest are replaced (typing
        at the end of a long text changes one or two of hundreds)."""
        box, shown = self.position_box, self._position_items
        if box.count() != len(shown):  # emptied by clear()
            shown = []
        kept = next((t for t, (a, b) in enumerate(zip(shown, items)) if a != b),
                    min(len(shown), len(items)))
        if kept == 0:
            box.clear()
        while box.count() > kept:
            box.removeItem(box.count() - 1)
        box.addItems(items[kept:])
        self._position_items = items

    def set_second(self, logits_b, kl=None, note: str = "",
                   names: tuple[str, str] = ("A", "B"), kl_text: str = "KL(P_A ‖ P_B)",
                   ) -> None:
        """Text B's logits to compare with (None: no comparison). ``names`` the two
        distributions' names on the bars (("intervened", "clean") for interventions),
        ``kl_text`` how the KL line names ``kl``."""
        self._names, self._kl_text = names, kl_text
        self.bars.names = names
        self._logits_b = None if logits_b is None else as_numpy(logits_b)
        self._kl = None if kl is None else np.asarray(
            kl.detach().cpu() if hasattr(kl, "detach") else kl, dtype=np.float64)
        self._compare_note = note
        self._refresh()

    def second_distribution(self) -> np.ndarray:
        return self._qb.copy()

    def set_position(self, t: int) -> None:
        l = self._logits.shape[0]
        if l == 0:
            return
        if t < 0:
            t += l
        t = int(np.clip(t, 0, l - 1))
        self.position_box.setCurrentIndex(t)  # refreshes through _on_position_box_changed

    @property
    def position(self) -> int:
        return self._position

    @property
    def temperature(self) -> float:
        return self._tau

    @temperature.setter
    def temperature(self, tau: float) -> None:
        tau = float(tau)
        if not math.isfinite(tau) or tau < 0:
            raise ValueError(f"temperature must be ≥ 0 (0 = greedy), got {tau}")
        if tau > 0:
            tau = min(max(tau, TAU_MIN), TAU_MAX)
        self.tau_slider.blockSignals(True)
        self.tau_slider.setValue(tau_to_slider(tau))
        self.tau_slider.blockSignals(False)
        self._set_tau(tau)

    @property
    def top_k(self) -> int:
        return self.k_spin.value()

    @top_k.setter
    def top_k(self, k: int) -> None:
        self.k_spin.setValue(int(k))

    def distribution(self) -> np.ndarray:
        return self._q.copy()

    def base_distribution(self) -> np.ndarray:
        if self._logits.size == 0:
            return np.zeros(0)
        return tempered(self._logits[self._position], 1.0)

    def shown(self) -> list[tuple[int, str, float, float]]:
        return list(self.bars.rows)

    @property
    def entropy_bits(self) -> float:
        return entropy_bits(self._q) if self._q.size else 0.0

    # updates ------------------------------------------------------------------------------
    def _set_tau(self, tau: float) -> None:
        changed = tau != self._tau
        self._tau = tau
        self._show_tau()
        self._refresh()
        if changed:
            self.temperature_changed.emit(tau)

    def _show_tau(self) -> None:
        tau = self._tau
        if tau == 0:
            text = "τ → 0 (greedy)"
        elif abs(tau - 1.0) < 5e-3:
            text = f"τ = {tau:.2f} (p itself)"
        else:
            text = f"τ = {tau:.2f} ({'sharper' if tau < 1 else 'flatter'})"
        self.tau_label.setText(text)

    def _on_tau_reset_clicked(self) -> None:
        self.temperature = 1.0

    def _on_slider_changed(self, value: int) -> None:
        self._set_tau(slider_to_tau(value))

    def _on_position_box_changed(self, index: int) -> None:
        if index < 0 or index == self._position:
            return
        self._position = index
        self._follow_last = index == self.position_box.count() - 1
        self._refresh()
        self.position_changed.emit(index)

    def _refresh(self) -> None:
        if self._logits.size == 0:
            return
        z = self._logits[self._position]
        self._q = tempered(z, self._tau)
        p = tempered(z, 1.0) if self._tau != 1.0 else self._q
        b = self._logits_b
        has_b = b is not None and self._position < b.shape[0] and b.shape[1] == z.size
        self._qb = tempered(b[self._position], self._tau) if has_b else np.zeros(0)
        k = min(self.top_k, z.size)
        rank_by = np.maximum(self._q, self._qb) if has_b else z
        top = np.argpartition(-rank_by, k - 1)[:k]
        top = top[np.argsort(-rank_by[top], kind="stable")]
        self.bars.rows = [(int(i), self._token(int(i)), float(self._q[i]), float(p[i]))
                          for i in top]
        self.bars.second = [float(self._qb[i]) for i in top] if has_b else None
        self._show_kl(has_b)
        self.bars.show_ghost = self._tau != 1.0
        h = entropy_bits(self._q)
        self.entropy_label.setText(
            f"entropy H(q) = {h:.2f} bits (as uncertain as a uniform pick among "
            f"{2 ** h:.1f} tokens)")
        self.bars.update()

    def _show_kl(self, has_b: bool) -> None:
        if self._logits_b is None:
            self.kl_label.hide()
            return
        t = self._position
        first, second = self._names
        if not has_b:
            text = (f"Text {second} has {self._logits_b.shape[0]} positions: nothing to "
                    f"compare at t = {t + 1}.")
        else:
            kl = self._kl
            value = (f"{kl[t]:.4f} nats" if kl is not None and t < kl.size else "—")
            text = (f"Blue: {first}, orange: {second} (Δ = {first} − {second}). "
                    f"{self._kl_text} at t = {t + 1}: {value} (0 when the two agree).")
            z, zb = self._logits[t], self._logits_b[t]
            top, top_b = int(np.argmax(z)), int(np.argmax(zb))
            if top != top_b:
                text += (f" The top token changed: “{visible_token(self._token(top_b))}” "
                         f"({second}) → “{visible_token(self._token(top))}” ({first}).")
        if self._compare_note:
            text += f" {self._compare_note}."
        set_typeset(self.kl_label, text)
        self.kl_label.show()

    def _token(self, i: int) -> str:
        return self._tokens[i] if i < len(self._tokens) else f"#{i}"

    def export_parts(self) -> ViewParts:
        """The bars with the position and temperature, and the distribution q over N_V."""
        table = None
        q = np.asarray(self.distribution())
        if q.size:
            table = Table(q[None, :], ["q"], [self._token(i) for i in range(q.size)], "", "N_V")
        caption = Caption(f"{self.title_label.text()} · τ = {self.temperature:g}", "N_V",
                          "q ∝ p^(1/τ) = softmax(W_u X[:, t] / τ)   (Algorithm 14)")
        return ViewParts(self, caption, table)


