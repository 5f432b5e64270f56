"""The Infer tab for encoders: fill the masked tokens of a text (Algorithm 9 trained as in
Algorithm 12), or show a classifier's P(c | x) as the text is typed."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from explorer.ui.infer.controls import DEBOUNCE_MS, spin_box
from explorer.ui.infer.widgets import RankedBars
from explorer.ui.widgets.style import scaled_font, visible_token

if TYPE_CHECKING:
    from explorer.state.generation import FillResult


class FillMaskWidget(QWidget):
    """An encoder's candidates for each masked token, ranked, as bars."""

    message_shown = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model: Any = None
        self.tokenizer: Any = None
        self.text = QLineEdit()
        self.text.setFont(scaled_font(self, 1.3))
        self.text.setToolTip("Write [MASK], <mask> or _ where a token is missing")
        self.text.setPlaceholderText("the king sin_s .")
        self.k_spin = spin_box(1, 50, 5, "Candidates per mask")
        self.filled = QLabel("")
        self.filled.setFont(scaled_font(self, 1.3, bold=True))
        self.filled.setWordWrap(True)
        self.filled.setTextFormat(Qt.TextFormat.RichText)
        self.masks = QVBoxLayout()
        self.result: FillResult | None = None  # the last fill
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(DEBOUNCE_MS)
        self.timer.timeout.connect(self.fill)
        self.text.textChanged.connect(lambda _t: self.timer.start())
        self.k_spin.valueChanged.connect(lambda _v: self.timer.start())
        row = QHBoxLayout()
        row.addWidget(QLabel("Text with masks:"))
        row.addWidget(self.text, 1)
        row.addWidget(QLabel("Top:"))
        row.addWidget(self.k_spin)
        hint = QLabel("Write [MASK], <mask> or _ for each missing token; the candidates update "
                      "as you type.")
        hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(hint)
        layout.addWidget(self.filled)
        layout.addLayout(self.masks, 1)
        self.bars: list[RankedBars] = []

    def set_model(self, model: Any, tokenizer: Any, window_text: str = "") -> None:
        self.model, self.tokenizer = model, tokenizer
        if not self.text.text():
            self.text.setText(default_mask_text(window_text, getattr(tokenizer, "kind", "")))
        self.timer.start()

    def fill(self) -> None:
        self.timer.stop()
        if self.model is None:
            return
        from explorer.state.generation import fill_masks

        try:
            result = fill_masks(self.model, self.tokenizer, self.text.text(), self.k_spin.value())
        except ValueError as exc:
            self.result = None
            self.message_shown.emit(str(exc))
            self._set_bars([])
            self.filled.setText("")
            return
        self.message_shown.emit("")
        self.result = result
        pieces, pos = [], 0
        filled = result.filled
        for start, end in result.spans:
            pieces.append(html.escape(filled[pos:start]))
            pieces.append(f"<span style='color:#c05a00; text-decoration: underline'>"
                          f"{html.escape(filled[start:end]) or '∅'}</span>")
            pos = end
        pieces.append(html.escape(filled[pos:]))
        self.filled.setText("Best guess: " + "".join(pieces))
        self._set_bars([(f"mask {i + 1} (position {m.position + 1})",
                         [(visible_token(c.text), c.p, None, j == 0)
                          for j, c in enumerate(m.candidates)])
                        for i, m in enumerate(result.masks)])

    def _set_bars(self, groups: list[tuple[str, list]]) -> None:
        while self.masks.count():
            item = self.masks.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.bars = []
        for title, rows in groups:
            label = QLabel(title)
            label.setFont(scaled_font(self, 1.1, bold=True))
            bars = RankedBars()
            bars.mark = "◀ best"
            bars.set_rows(rows)
            self.masks.addWidget(label)
            self.masks.addWidget(bars, 1)
            self.bars.append(bars)

    def shutdown(self) -> None:
        self.timer.stop()


def default_mask_text(text: str, kind: str) -> str:
    """``text`` with its middle word masked (one character of it for a character model)."""
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) > 1] or [i for i, w in
                                                                   enumerate(words) if w]
    if not candidates:
        return "the king sin_s ."
    i = candidates[len(candidates) // 2]
    word = words[i]
    words[i] = word[:len(word) // 2] + "_" + word[len(word) // 2 + 1:] if kind == "char" else "_"
    return " ".join(words)


class ClassifyWidget(QWidget):
    """P(c | x) of the window's text as bars, updated as it is typed."""

    message_shown = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model: Any = None
        self.tokenizer: Any = None
        self.text_source: Callable[[], str] = lambda: ""
        self.text_label = QLabel("")
        self.text_label.setFont(scaled_font(self, 1.3))
        self.text_label.setTextFormat(Qt.TextFormat.PlainText)
        self.text_label.setWordWrap(True)
        self.bars = RankedBars()
        self.bars.mark = "◀ most likely"
        self.probabilities: list[tuple[str, float]] = []
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(DEBOUNCE_MS)
        self.timer.timeout.connect(self.classify)
        hint = QLabel("The text x is the Input panel's: type there and the probabilities "
                      "follow.")
        hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(hint)
        layout.addWidget(self.text_label)
        layout.addWidget(self.bars, 1)

    def set_model(self, model: Any, tokenizer: Any) -> None:
        self.model, self.tokenizer = model, tokenizer
        self.classify()

    def text_edited(self) -> None:
        self.timer.start()

    def classify(self) -> None:
        self.timer.stop()
        if self.model is None:
            return
        from explorer.state.generation import class_probabilities

        text = self.text_source()
        self.text_label.setText(f"x = “{text}”")
        try:
            self.probabilities = class_probabilities(self.model, self.tokenizer, text)
        except ValueError as exc:
            self.probabilities = []
            self.message_shown.emit(str(exc))
            self.bars.set_rows([], str(exc))
            return
        self.message_shown.emit("")
        best = max(p for _, p in self.probabilities)
        self.bars.set_rows([(label, p, None, p == best) for label, p in self.probabilities])

    def shutdown(self) -> None:
        self.timer.stop()
