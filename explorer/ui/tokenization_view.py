"""The tokenization view: the typed text with token boundaries, ids, count and chunks.

Public API (``TokenizationWidget``):

- ``set_tokenizer(tok)``: show this ``explorer.tokenize.Tokenizer`` (kind picker follows).
- ``set_text(text)``: re-tokenize and redraw (cheap; long texts are capped for display).
- ``set_l_max(n)``: draw chunk boundaries every n tokens (the paper's chunking).
- ``set_corpus(texts)``: what the kind/vocabulary picker trains a new tokenizer on.
- signal ``tokenizer_changed(object)``: a new tokenizer the user picked, trained off
  the GUI thread.

Tokens alternate two background colours; hovering one shows its id and string;
spaces, newlines and tabs are drawn as ·, ⏎ and →.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QObject, Qt, QThread, QTimer, QUrl, Signal
from PySide6.QtGui import QCursor, QFont
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QTextBrowser,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from explorer.tokenize import KIND_LABELS, KINDS, Tokenizer, train_tokenizer

MAX_SHOWN_TOKENS = 1500
COLOURS = ("#dbeafe", "#fde68a")  # alternating token backgrounds (blue, amber)
SPECIAL_COLOUR = "#e9d5ff"
CHUNK_COLOUR = "#dc2626"


def visible(s: str) -> str:
    """Whitespace made visible: · for a space, ⏎ for a newline, → for a tab."""
    return s.replace(" ", "·").replace("\n", "⏎").replace("\t", "→").replace("\r", "␍")


class _TrainWorker(QObject):
    finished = Signal(object, str)  # tokenizer or None, error message

    def __init__(self, kind: str, corpus: list[str], vocab_size: int) -> None:
        super().__init__()
        self.kind, self.corpus, self.vocab_size = kind, corpus, vocab_size

    def run(self) -> None:
        try:
            size = None if self.kind == "char" else self.vocab_size
            self.finished.emit(train_tokenizer(self.kind, self.corpus, size), "")
        except Exception as exc:  # reported in the widget, never only in a terminal
            self.finished.emit(None, str(exc))


class TokenizationWidget(QWidget):
    """Token boundaries over the text, the id sequence, the count and the chunks."""

    tokenizer_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None, font_size: int = 15) -> None:
        super().__init__(parent)
        self._tok: Tokenizer | None = None
        self._text = ""
        self._l_max = 0
        self._corpus: list[str] = []
        self._tokens: list[tuple[int, str]] = []
        self._thread: QThread | None = None
        self._worker: _TrainWorker | None = None

        self.kind_box = QComboBox()
        for kind in KINDS:
            self.kind_box.addItem(KIND_LABELS[kind], kind)
        self.kind_box.setToolTip("Tokenizer kind: train a new one of this kind on the corpus")
        self.vocab_box = QSpinBox()
        self.vocab_box.setRange(64, 50000)
        self.vocab_box.setSingleStep(100)
        self.vocab_box.setValue(500)
        self.vocab_box.setPrefix("vocabulary ")
        self.vocab_box.setToolTip("Vocabulary size N_V for subword and word tokenizers "
                                  "(special tokens included)")
        self._kind_label = QLabel("Tokenizer:")
        self.count_label = QLabel()
        self.count_label.setToolTip("Number of tokens ℓ of the text (without bos/eos)")
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setStyleSheet("color: #b45309;")

        self.tokens_view = QTextBrowser()
        self.tokens_view.setOpenLinks(False)
        self.tokens_view.setToolTip("")
        self.tokens_view.highlighted.connect(self._on_hover)
        self.ids_view = QTextBrowser()
        self.ids_view.setToolTip("Token ids x[1..ℓ]; red bars mark chunks of at most ℓ_max")
        self.ids_view.setMaximumHeight(font_size * 5)

        top = QHBoxLayout()
        top.addWidget(self._kind_label)
        top.addWidget(self.kind_box, 1)
        top.addWidget(self.vocab_box)
        top.addWidget(self.count_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.tokens_view, 3)
        layout.addWidget(self.ids_view, 1)
        layout.addWidget(self.status_label)
        self.set_font_size(font_size)

        self._retrain_timer = QTimer(self, singleShot=True, interval=300)
        self._retrain_timer.timeout.connect(self._retrain)
        self.kind_box.activated.connect(lambda _i: self._retrain_timer.start())
        self.vocab_box.valueChanged.connect(lambda _v: self._retrain_timer.start())

    # -- public API --------------------------------------------------------------------
    def set_font_size(self, points: int) -> None:
        font = QFont(self.font())
        font.setPointSize(points)
        self.tokens_view.setFont(font)
        mono = QFont("DejaVu Sans Mono")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        mono.setPointSize(max(8, points - 3))
        self.ids_view.setFont(mono)
        for w in (self.kind_box, self.vocab_box, self.count_label, self.status_label,
                  self._kind_label):
            f = QFont(w.font())
            f.setPointSize(max(9, points - 3))
            w.setFont(f)

    def tokenizer(self) -> Tokenizer | None:
        return self._tok

    def set_tokenizer(self, tok: Tokenizer) -> None:
        self._tok = tok
        index = self.kind_box.findData(tok.kind)
        self.kind_box.blockSignals(True)
        self.vocab_box.blockSignals(True)
        if index >= 0:
            self.kind_box.setCurrentIndex(index)
        self.vocab_box.setValue(max(self.vocab_box.minimum(), min(tok.vocab_size, 50000)))
        self.vocab_box.setEnabled(tok.kind != "char")
        self.kind_box.blockSignals(False)
        self.vocab_box.blockSignals(False)
        self._render()

    def set_text(self, text: str) -> None:
        self._text = text
        self._render()

    def set_l_max(self, l_max: int) -> None:
        self._l_max = int(l_max)
        self._render()

    def set_corpus(self, texts) -> None:
        self._corpus = [t for t in texts if t]

    def shown_tokens(self) -> list[tuple[int, str]]:
        """(id, display string) of the tokens drawn (for tests and export)."""
        return list(self._tokens)

    # -- drawing ---------------------------------------------------------------------
    def _render(self) -> None:
        tok = self._tok
        if tok is None:
            self.tokens_view.setHtml("<i>no tokenizer</i>")
            return
        enc = tok.encode(self._text)
        n = len(enc.ids)
        shown = min(n, MAX_SHOWN_TOKENS)
        strings = tok.token_strings(enc.ids[:shown])
        self._tokens = list(zip(enc.ids[:shown], strings))
        # Draw the typed text itself, cut at the token boundaries (an unknown character
        # stays visible); the hover says which token string and id it became.
        spans, prev_end = [], 0
        for (s, e), tstr in zip(enc.offsets[:shown], strings):
            piece = enc.text[s:e] if s >= prev_end and e > s else ""
            prev_end = max(prev_end, e)
            spans.append(piece if piece else tstr)
        specials = set(tok.special_ids.values())
        parts = []
        for i, ((tid, _), s) in enumerate(zip(self._tokens, spans)):
            if self._l_max and i and i % self._l_max == 0:
                parts.append(f'<span style="color:{CHUNK_COLOUR}; font-weight:bold">┃</span>')
            colour = SPECIAL_COLOUR if tid in specials else COLOURS[i % 2]
            text = html.escape(visible(s) or "∅")
            parts.append(
                f'<a href="tok:{i}" style="text-decoration:none; color:#111827">'
                f'<span style="background-color:{colour}">{text}</span></a>'
            )
            if s.endswith("\n"):
                parts.append("<br>")
        self.tokens_view.setHtml("<div style='line-height:160%'>" + "".join(parts) + "</div>")
        ids = [str(i) for i in enc.ids[:shown]]
        if self._l_max:
            ids = [(f'<b style="color:{CHUNK_COLOUR}">┃</b> ' if k and k % self._l_max == 0
                    else "") + v for k, v in enumerate(ids)]
        self.ids_view.setHtml(" ".join(ids))
        chunks = -(-n // self._l_max) if self._l_max and n else 1
        self.count_label.setText(f"<b>{n:,}</b> tokens · N_V = {tok.vocab_size:,}")
        notes = list(enc.notes)
        if n > shown:
            notes.append(f"showing the first {shown:,} of {n:,} tokens")
        if self._l_max and n > self._l_max:
            notes.append(f"longer than ℓ_max = {self._l_max}: {chunks} chunks of at most "
                         f"{self._l_max} tokens (red bars)")
        self.status_label.setText(" · ".join(notes))
        self.status_label.setVisible(bool(notes))

    def _on_hover(self, url: QUrl) -> None:
        target = url.toString()
        if not target.startswith("tok:"):
            QToolTip.hideText()
            return
        i = int(target[4:])
        tid, s = self._tokens[i]
        name = self._tok.special_name(tid) if self._tok else None
        extra = f" (special: {name})" if name else ""
        QToolTip.showText(QCursor.pos(), f"token {i + 1}: id {tid}{extra}\n“{visible(s)}”",
                          self.tokens_view)

    # -- retraining off the GUI thread -------------------------------------------------
    def _retrain(self) -> None:
        if not self._corpus:
            self.status_label.setText("No corpus to train a tokenizer on.")
            self.status_label.setVisible(True)
            return
        if self._thread is not None:
            self._retrain_timer.start()  # one at a time: try again shortly
            return
        kind = self.kind_box.currentData()
        self.status_label.setText(f"Training a {KIND_LABELS[kind].lower()} tokenizer…")
        self.status_label.setVisible(True)
        self._thread = QThread(self)
        self._worker = _TrainWorker(kind, self._corpus, self.vocab_box.value())
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.finished.connect(self._on_trained, Qt.ConnectionType.QueuedConnection)
        self._thread.start()

    def _on_trained(self, tok: Tokenizer | None, error: str) -> None:
        self._stop_thread()
        if tok is None:
            self.status_label.setText(f"Could not train the tokenizer: {error}")
            self.status_label.setVisible(True)
            return
        self.set_tokenizer(tok)
        self.tokenizer_changed.emit(tok)

    def _stop_thread(self) -> None:
        if self._thread is not None:
            self._thread.quit()
            self._thread.wait()
            self._thread.deleteLater()
            self._worker.deleteLater()
            self._thread = self._worker = None

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt)
        self._stop_thread()
        super().closeEvent(event)
