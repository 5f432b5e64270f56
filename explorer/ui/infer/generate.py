"""Generation in the Infer tab: Algorithm 14 (a decoder continues a prompt) and Algorithm 15
(an encoder-decoder writes x from z), one token per timer tick, with the distribution's
bars and, for Algorithm 15, the growing cross-attention matrix."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from explorer.ui.infer.controls import STEP_MS, real_box, spin_box
from explorer.ui.infer.widgets import CrossAttentionMatrix, RankedBars
from explorer.ui.widgets.style import percent, scaled_font, visible_token

if TYPE_CHECKING:
    from explorer.state.generation import Generation, StepRecord


class GenerateWidget(QWidget):
    """Algorithms 14 and 15: settings, Generate / Step / Stop / Reset, the text, the bars."""

    text_generated = Signal(str)  # prompt + generated (decoder) or the output (ED)
    message_shown = Signal(str)  # "" clears

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model: Any = None
        self.tokenizer: Any = None
        self.arch = "decoder"
        self.generation: Generation | None = None
        self.text_source: Callable[[], str] = lambda: ""
        self.context_source: Callable[[], str] = lambda: ""
        self.timer = QTimer(self)
        self.timer.setInterval(STEP_MS)
        self.timer.timeout.connect(self._on_tick)
        self._build()
        self._update_buttons()

    def _build(self) -> None:
        self.prompt_label = QLabel("Prompt x:")
        self.prompt = QLineEdit()
        self.prompt.setToolTip("The prompt the decoder continues (from the Input panel)")
        self.from_input = QPushButton("↺ from Input")
        self.from_input.setToolTip("Copy the Input panel's text into the prompt")
        self.new_tokens = spin_box(1, 1000, 40, "How many tokens to generate (an encoder-decoder "
                                "also stops at eos or ℓ_max)")
        self.tau = real_box(0.0, 5.0, 1.0, 0.1, "Temperature τ: sample from q ∝ p^(1/τ); "
                         "0 = greedy (arg max); 1 = p itself", "0 (greedy)")
        self.top_k = spin_box(0, 100000, 0, "Keep only the k most likely tokens (0: all)", "off")
        self.top_p = real_box(0.0, 1.0, 0.0, 0.05, "Keep the smallest set of tokens with mass ≥ "
                           "top-p, the nucleus (0: all)", "off")
        self.seed = spin_box(-1, 2**31 - 1, 0, "The random seed: the same seed draws the same "
                          "tokens (−1: a new draw every time)", "random")
        self.generate_button = QPushButton("▶ Generate")
        self.generate_button.setToolTip(f"Generate token by token, one every {STEP_MS} ms")
        self.step_button = QPushButton("Step")
        self.step_button.setToolTip("Generate one token")
        self.stop_button = QPushButton("■ Stop")
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("Forget the generated tokens (settings can change again)")
        self.follow = QCheckBox("Inspector follows")
        self.follow.setChecked(True)
        self.follow.setToolTip("After each token, put the text into the Input panel so that "
                               "every other view shows the new position")
        self.output = QTextEdit()
        self.output.setReadOnly(True)
        self.output.setMinimumHeight(60)
        self.output.setMaximumHeight(96)
        self.output.setToolTip("Grey: what the model was given; blue: what it generated; "
                               "orange: the newest token")
        self.step_label = QLabel("")
        self.step_label.setWordWrap(True)
        self.bars = RankedBars()
        self.bars.message = "Press Generate or Step: each token's distribution appears here."
        self.matrix_title = QLabel("cross-attention: generated tokens (rows) over the context "
                                   "tokens (columns)")
        self.layer_box = QComboBox()
        self.layer_box.setToolTip("Which decoder layer's cross-attention")
        self.head_box = QComboBox()
        self.head_box.setToolTip("The mean over the heads, or one head")
        self.head_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.matrix = CrossAttentionMatrix()

        self.prompt.setFont(scaled_font(self, 1.2))
        self.output.setFont(scaled_font(self, 1.3))
        self.step_label.setFont(scaled_font(self, 1.1, bold=True))
        self.matrix_title.setFont(scaled_font(self, 1.1, bold=True))
        self.matrix_title.setWordWrap(True)
        prompt_row = QHBoxLayout()
        prompt_row.addWidget(self.prompt_label)
        prompt_row.addWidget(self.prompt, 1)
        prompt_row.addWidget(self.from_input)
        settings = QGridLayout()
        for i, (text, box) in enumerate((
                ("New tokens:", self.new_tokens), ("τ:", self.tau), ("seed:", self.seed),
                ("top-k:", self.top_k), ("top-p:", self.top_p))):
            label = QLabel(text)
            label.setToolTip(box.toolTip())
            label.setBuddy(box)
            label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            settings.addWidget(label, i // 3, 2 * (i % 3))
            settings.addWidget(box, i // 3, 2 * (i % 3) + 1)
        settings.addWidget(self.follow, 1, 4, 1, 2)
        settings.setColumnStretch(6, 1)
        buttons = QHBoxLayout()
        for b in (self.generate_button, self.step_button, self.stop_button, self.reset_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        pickers = QHBoxLayout()
        pickers.addWidget(QLabel("Decoder layer:"))
        pickers.addWidget(self.layer_box)
        pickers.addWidget(QLabel("Head:"))
        pickers.addWidget(self.head_box)
        pickers.addStretch(1)
        self.matrix_box = QWidget()
        mlayout = QVBoxLayout(self.matrix_box)
        mlayout.setContentsMargins(0, 0, 0, 0)
        mlayout.addWidget(self.matrix_title)
        mlayout.addLayout(pickers)
        mlayout.addWidget(self.matrix, 1)
        bars_box = QWidget()
        left = QVBoxLayout(bars_box)
        left.setContentsMargins(0, 0, 0, 0)
        left.addWidget(self.step_label)
        left.addWidget(self.bars, 1)
        self.display = QSplitter(Qt.Orientation.Horizontal)
        self.display.setChildrenCollapsible(False)
        self.display.addWidget(bars_box)
        self.display.addWidget(self.matrix_box)
        self.display.setStretchFactor(0, 2)
        self.display.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(prompt_row)
        layout.addLayout(settings)
        layout.addLayout(buttons)
        layout.addWidget(self.output)
        layout.addWidget(self.display, 1)

        self.from_input.clicked.connect(self._on_from_input_clicked)
        self.prompt.textChanged.connect(self._on_prompt_changed)
        self.generate_button.clicked.connect(self.generate)
        self.step_button.clicked.connect(self.step)
        self.stop_button.clicked.connect(self.stop)
        self.reset_button.clicked.connect(self.reset)
        self.layer_box.currentIndexChanged.connect(self._show_matrix)
        self.head_box.currentIndexChanged.connect(self._show_matrix)

    # -- model -----------------------------------------------------------------------------
    def set_model(self, model: Any, tokenizer: Any) -> None:
        """A new model: forget any generation; an encoder-decoder shows the matrix."""
        self.timer.stop()
        self.model, self.tokenizer, self.arch = model, tokenizer, model.cfg.arch
        self.generation = None
        ed = self.arch == "encoder-decoder"
        self.prompt_label.setText("Prompt x:")
        for w in (self.prompt_label, self.prompt, self.from_input):
            w.setVisible(not ed)
        self.matrix_box.setVisible(ed)
        self.output.setMaximumHeight(64 if ed else 96)
        self.generate_button.setToolTip(
            f"Generate token by token, one every {STEP_MS} ms"
            + (f" (from ⟨bos⟩ until ⟨eos⟩ or ℓ_max = {model.cfg.l_max})" if ed else ""))
        cfg = model.cfg
        n_dec = int(cfg.n_dec_layers or cfg.n_layers)
        for box, items, current in (
                (self.layer_box, [f"layer {i + 1}" for i in range(n_dec)], n_dec - 1),
                (self.head_box, ["mean"] +
                 [f"head {h + 1}" for h in range(cfg.stack_sizes("decoder")["n_heads"])], 0)):
            box.blockSignals(True)
            box.clear()
            box.addItems(items)
            box.setCurrentIndex(current)
            box.blockSignals(False)
        if not ed and not self.prompt.text():
            self.prompt.setText(self.text_source())
        self._clear_display()
        self._update_buttons()

    def _on_from_input_clicked(self) -> None:
        self.prompt.setText(self.text_source())

    def _on_prompt_changed(self, _text: str) -> None:
        if self.generation is None:
            self._show_text()

    def settings(self):
        from explorer.state.generation import Settings

        seed = self.seed.value()
        return Settings(max_new=self.new_tokens.value(), temperature=self.tau.value(),
                        top_k=self.top_k.value() or None, top_p=self.top_p.value() or None,
                        seed=None if seed < 0 else seed)

    # -- running -----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.timer.isActive()

    def _ensure_started(self) -> bool:
        """A generation ready to step (a new one when none is going); False on an error."""
        if self.generation is not None and self.generation.started \
                and not self.generation.finished:
            return True
        if self.model is None:
            return False
        from explorer.state.generation import Generation

        source = self.context_source() if self.arch == "encoder-decoder" else self.prompt.text()
        try:
            generation = Generation(self.model, self.tokenizer, self.settings())
            generation.start(source)
        except ValueError as exc:
            self.message_shown.emit(f"Cannot generate: {exc}")
            return False
        self.generation = generation
        self.message_shown.emit("")
        self._clear_display()
        return True

    def generate(self) -> None:
        if self._ensure_started():
            self.timer.start()
        self._update_buttons()

    def step(self) -> None:
        self.timer.stop()
        if self._ensure_started():
            self._advance()
        self._update_buttons()

    def stop(self) -> None:
        self.timer.stop()
        self._update_buttons()

    def reset(self) -> None:
        self.timer.stop()
        had = self.generation is not None and bool(self.generation.records)
        self.generation = None
        self._clear_display()
        self._update_buttons()
        if had and self.follow.isChecked() and self.arch == "decoder":
            self.text_generated.emit(self.prompt.text())

    def shutdown(self) -> None:
        self.timer.stop()

    def _on_tick(self) -> None:
        self._advance()
        self._update_buttons()

    def _advance(self) -> None:
        generation = self.generation
        if generation is None:
            self.timer.stop()
            return
        try:
            record = generation.step()
        except (RuntimeError, ValueError, IndexError) as exc:
            self.timer.stop()
            self.message_shown.emit(f"The model could not generate: {exc}")
            return
        if record is None or record.finished:
            self.timer.stop()
        if record is None:
            return
        self._show(record)
        if self.follow.isChecked():
            self.text_generated.emit(record.text)

    def _update_buttons(self) -> None:
        running = self.timer.isActive()
        active = self.generation is not None and not self.generation.finished
        ready = self.model is not None
        self.generate_button.setEnabled(ready and not running)
        self.generate_button.setText("▶ Continue" if active and self.generation.records
                                     and not running else "▶ Generate")
        self.step_button.setEnabled(ready and not running)
        self.stop_button.setEnabled(running)
        self.reset_button.setEnabled(self.generation is not None)
        for box in (self.new_tokens, self.tau, self.top_k, self.top_p, self.seed, self.prompt):
            box.setReadOnly(active)  # fixed during a generation, still readable
        self.from_input.setEnabled(not active)

    # -- display ----------------------------------------------------------------------------
    def _clear_display(self) -> None:
        self.step_label.setText("")
        self.bars.set_rows([], "Press Generate or Step: each token's distribution q "
                               "appears here, the chosen token in orange.")
        self._show_text()
        self._show_matrix()

    def _show(self, record: StepRecord) -> None:
        rows = [(visible_token(c.text), c.q, c.p if abs(c.p - c.q) > 1e-6 else None,
                 c.token == record.token) for c in record.candidates]
        if record.rank >= len(rows):
            rows.append((f"… #{record.rank + 1}: {visible_token(record.token_text)}",
                         record.q, None, True))
        self.bars.set_rows(rows)
        where = "of q" if self.tau.value() != 1 or self.top_k.value() or self.top_p.value() \
            else "of p"
        self.step_label.setText(
            f"Token {record.index + 1}: {visible_token(record.token_text)!r}, "
            f"q\u00a0=\u00a0{percent(record.q)}, p\u00a0=\u00a0{percent(record.p)}, "
            f"rank\u00a0{record.rank + 1}\u00a0{where}"
            + (" · finished" if record.finished else ""))
        self._show_text()
        self._show_matrix()

    def _show_text(self) -> None:
        generation = self.generation
        style = "white-space: pre-wrap;"
        if generation is None:
            given = html.escape(self.prompt.text()) if self.arch == "decoder" else ""
            self.output.setHtml(f"<div style='{style}'><span style='color:#555'>{given}"
                                "</span></div>")
            return
        parts = []
        if self.arch == "decoder":
            parts.append(f"<span style='color:#555'>{html.escape(generation.source)}</span>")
        else:
            parts.append("<span style='color:#777'>⟨bos⟩ </span>")
        specials = set((getattr(self.tokenizer, "special_ids", None) or {}).values())
        for i, r in enumerate(generation.records):
            newest = i == len(generation.records) - 1
            background = "#ffd08a" if newest else "#dbe9f7"
            text = r.token_text if r.token in specials else r.piece
            text = html.escape(text).replace("\n", "⏎\n")
            parts.append(f"<span style='color:#0b3d91; background:{background}; "
                         f"font-weight:bold'>{text}</span>")
        self.output.setHtml(f"<div style='{style}'>{''.join(parts)}</div>")

    def _show_matrix(self) -> None:
        generation = self.generation
        if self.arch != "encoder-decoder" or generation is None:
            self.matrix.set_data(np.zeros((0, 0), np.float32), [], [])
            return
        head = self.head_box.currentIndex() - 1
        values = generation.cross_attention(self.layer_box.currentIndex(),
                                            None if head < 0 else head)
        rows = [r.token_text for r in generation.records]
        self.matrix.set_data(values, rows, generation.context_labels)
