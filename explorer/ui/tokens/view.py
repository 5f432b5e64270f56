"""The tokenization view: the typed text with token boundaries, ids, count and chunks.

Public API (``TokenizationWidget``):

- ``set_tokenizer(tok)``: show this ``explorer.tokenize.Tokenizer`` (kind picker follows).
- ``set_text(text, encoding=None)``: re-tokenize and redraw (``encoding``: the text already
  encoded by this tokenizer, not encoded again). Up to ``SYNC_CHARS`` characters are
  encoded at once; a longer paste shows its first tokens at once and is counted off the
  GUI thread. Only the tokens from the first changed one on are laid out again, and only
  the rows in view are painted (``explorer.ui.tokens.strip``).
- ``set_l_max(n)``: draw chunk boundaries every n tokens (the paper's chunking).
- ``set_corpus(texts)``: what the kind/vocabulary picker trains a new tokenizer on.
- signal ``tokenizer_changed(object)``: a new tokenizer the user picked, trained off
  the GUI thread.
- ``compare_box`` (a check box): also show the text's length ℓ under each kind (char,
  word, BPE, WordPiece, Unigram trained on the corpus at the same N_V), the lecture's
  point about sequence length against vocabulary size.

Tokens alternate two background colours; hovering one shows its id and string;
spaces, newlines and tabs are drawn as ·, ⏎ and →. Text that no token covers (the
spaces a word-level tokenizer drops) is drawn faint, without a background; a token that
covers no character (a byte piece of a character split by byte-level BPE, the ``▁``
Unigram puts before a word) is drawn small after the character it belongs to.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from explorer.tokenize import KIND_LABELS, KINDS, Encoding, Tokenizer, train_tokenizer
from explorer.tokenize.offsets import split_points
from explorer.ui.tokens.render import (
    SHORT_LABELS,
    TokenRendering,
)
from explorer.ui.tokens.strip import PieceStrip

SYNC_CHARS = 50_000  # encoded on the GUI thread at once (a few ms); longer: prefix + count
PREFIX_CHARS = 12_000  # the prefix of a long text drawn at once


class TokenizationWidget(TokenRendering, QWidget):
    """Token boundaries over the text, the id sequence, the count and the chunks."""

    tokenizer_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None, font_size: int = 16) -> None:
        super().__init__(parent)
        self._tok: Tokenizer | None = None
        self._text = ""
        self._l_max = 0
        self._corpus: list[str] = []
        self._enc: Encoding | None = None
        self._shown = 0  # tokens drawn (at most MAX_SHOWN_TOKENS)
        self._drawn: tuple | None = None  # what the strips show: tok, ℓ_max, text, ids, offsets
        self._ends: list[int] = []  # the last character covered by tokens 0..i
        self._total: int | None = None  # tokens in the whole text (None: still counting)
        self._jobs = 0  # number of the latest job; older results are dropped
        self._training = False
        # Background jobs: plain Python threads that touch no Qt object; a GUI-thread timer
        # collects their results, so a widget deleted mid-job leaves nothing dangling.
        self._pool: ThreadPoolExecutor | None = None  # made on first use, again after close
        self._pending: dict[int, str] = {}  # job number -> "count" | "train" | "compare"
        self._futures: dict[int, Future] = {}
        self._poll_timer = QTimer(self, interval=30)
        self._poll_timer.timeout.connect(self._on_poll)
        self._compare: dict[str, Tokenizer] = {}  # one tokenizer per kind, for compare_box
        self._shading: dict[int, float] = {}  # token index -> loss in nats (set_token_shading)
        self._shading_ids: dict[int, int] = {}
        self._shading_what = ""

        self.kind_box = QComboBox()
        for kind in KINDS:
            self.kind_box.addItem(KIND_LABELS[kind], kind)
        self.kind_box.setToolTip("Tokenizer kind: train a new one of this kind on the corpus")
        # as wide as a short name, not the longest one: the row must fit a 1280-px projector
        self.kind_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.kind_box.setMinimumContentsLength(12)
        self.vocab_box = QSpinBox()
        self.vocab_box.setRange(32, 50000)
        self.vocab_box.setSingleStep(100)
        self.vocab_box.setValue(500)
        self.vocab_box.setPrefix("N_V ")
        self.vocab_box.setToolTip(
            "Vocabulary size N_V, special tokens included (byte-level BPE needs at least "
            "256 bytes + 6 specials; a character tokenizer keeps every character it saw)"
        )
        self.compare_box = QCheckBox("compare kinds")
        self.compare_box.setToolTip(
            "Show how many tokens the text is under each kind of tokenizer, all trained on "
            "the same corpus with the same N_V"
        )
        self.compare_label = QLabel()
        self.compare_label.setVisible(False)
        self.count_label = QLabel()
        self.count_label.setToolTip("Number of tokens ℓ of the text (without bos/eos)")
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setStyleSheet("color: #b45309;")

        self.tokens_view = PieceStrip()
        self.tokens_view.background = self._background
        self.tokens_view.highlighted.connect(self._on_hover)
        self.ids_view = PieceStrip(single_line=True)
        self.ids_view.setToolTip("Token ids x[1..ℓ]; red bars mark chunks of at most ℓ_max")

        top = QHBoxLayout()
        top.addWidget(self.kind_box, 2)
        top.addWidget(self.vocab_box)
        top.addWidget(self.count_label, 1)
        top.addWidget(self.compare_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.compare_label)
        layout.addWidget(self.tokens_view, 4)
        layout.addWidget(self.ids_view, 1)
        layout.addWidget(self.status_label)
        self.set_font_size(font_size)

        self._retrain_timer = QTimer(self, singleShot=True, interval=300)
        self._retrain_timer.timeout.connect(self._retrain)
        self.kind_box.activated.connect(lambda _i: self._retrain_timer.start())
        self.vocab_box.valueChanged.connect(lambda _v: self._retrain_timer.start())
        self.compare_box.toggled.connect(self._on_compare_toggled)
        self._render()

    # -- public API --------------------------------------------------------------------
    def set_font_size(self, points: int) -> None:
        """Tokens at ``points``; ids, controls and notes a little smaller (projector sizes)."""
        font = QFont(self.font())
        font.setPointSize(points)
        self.tokens_view.setFont(font)
        self._small_pt = max(7, round(points * 0.6))  # tokens that cover no character
        self.tokens_view.set_small_point_size(self._small_pt)
        mono = QFont("DejaVu Sans Mono")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        mono.setPointSize(max(9, points - 3))
        self.ids_view.setFont(mono)
        self.ids_view.set_spacing(QFontMetrics(mono).horizontalAdvance(" "))
        # One line that scrolls sideways: a short dock still shows whole ids.
        bar = self.ids_view.horizontalScrollBar().sizeHint().height()
        self.ids_view.setFixedHeight(QFontMetrics(mono).lineSpacing() + bar + 12)
        for w in (
            self.kind_box,
            self.vocab_box,
            self.count_label,
            self.status_label,
            self.compare_box,
            self.compare_label,
        ):
            f = QFont(w.font())
            f.setPointSize(max(10, points - 3))
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
        self._retokenize()

    def set_text(self, text: str, encoding: Encoding | None = None) -> None:
        """Show ``text``; ``encoding``, when given, is this widget's tokenizer's encoding
        of it (the session's): the text is then not tokenised a second time."""
        self._text = text
        self._retokenize(encoding)

    def set_l_max(self, l_max: int) -> None:
        self._l_max = max(0, int(l_max))
        self._render(full=True)

    def set_corpus(self, texts) -> None:
        self._corpus = [t for t in texts if t]
        self._compare = {}
        if self.compare_box.isChecked():
            self._train_compare()

    def set_token_shading(self, values: dict[int, float] | None, ids: dict[int, int],
                          what: str = "") -> None:
        """Colour behind each token by its loss: ``values`` maps the index of a token of the
        text to −log P in nats (None or {} clears); ``ids`` the token id each value belongs
        to (a token that changed since keeps its usual colour); ``what`` the objective."""
        self._shading = dict(values or {})
        self._shading_ids = dict(ids)
        self._shading_what = what
        self.tokens_view.viewport().update()

    def token_shading(self) -> dict[int, str]:
        """Token index -> the background colour its loss gives it (for tests)."""
        return {i: self._loss_colour(i) for i in range(self._shown)
                if self._loss_colour(i) is not None}

    def shown_tokens(self) -> list[tuple[int, str]]:
        """(id, display string) of the tokens drawn (for tests and export)."""
        if self._tok is None or self._enc is None:
            return []
        ids = list(self._enc.ids[:self._shown])
        return list(zip(ids, self._tok.token_strings(ids)))

    def total_tokens(self) -> int | None:
        """Tokens in the whole text; None while a long paste is still being counted."""
        return self._total

    def is_busy(self) -> bool:
        """True while a count or a training runs in the background."""
        return bool(self._pending)

    # -- tokenizing --------------------------------------------------------------------
    def _retokenize(self, encoding: Encoding | None = None) -> None:
        tok, text = self._tok, self._text
        self._jobs += 1
        self._pending = {k: v for k, v in self._pending.items() if v == "train"}
        if tok is None:
            self._enc, self._total = None, None
        elif encoding is not None:
            self._enc, self._total = encoding, len(encoding.ids)
        elif len(text) <= SYNC_CHARS:
            self._enc = tok.encode(text)
            self._total = len(self._enc.ids)
        else:  # draw a prefix now (cut before a space: the same first tokens), count later
            cut = next(iter(split_points(text, PREFIX_CHARS)[1:]), PREFIX_CHARS)
            self._enc = tok.encode(text[:cut])
            self._total = None
            self._submit("count", lambda: tok.count_tokens(text))
        self._render()

    def _submit(self, what: str, fn: Callable[[], object]) -> None:
        self._jobs += 1
        self._pending[self._jobs] = what
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="tokenization")
        self._futures[self._jobs] = self._pool.submit(fn)
        self._poll_timer.start()

    def _on_poll(self) -> None:
        for number, future in list(self._futures.items()):
            if not future.done():
                continue
            del self._futures[number]
            try:
                result, error = future.result(), ""
            except Exception as exc:  # reported in the widget, never only in a terminal
                result, error = None, str(exc) or type(exc).__name__
            self._on_job_done(number, result, error)
        if not self._futures:
            self._poll_timer.stop()

    def _on_job_done(self, number: int, result: object, error: str) -> None:
        what = self._pending.pop(number, None)
        if what == "train":
            self._training = False
            self._on_trained(result, error)
        elif what == "compare":
            if error:
                self.compare_label.setText(f"Could not train the tokenizers to compare: {error}")
                return
            self._compare = dict(result)
            self._render_compare()
        elif what == "count":
            if error:
                self._show_notes([f"Could not count the tokens: {error}"])
                return
            self._total = int(result)
            self._render()

    # -- comparing kinds -----------------------------------------------------------------
    def _on_compare_toggled(self, on: bool) -> None:
        self.compare_label.setVisible(on)
        if on and not self._compare:
            self._train_compare()
        self._render_compare()

    def _train_compare(self) -> None:
        if not self._corpus:
            self.compare_label.setText("No corpus to train the tokenizers to compare on.")
            return
        corpus, size = self._corpus, self.vocab_box.value()
        self.compare_label.setText("Training one tokenizer of each kind…")
        self._pending = {k: v for k, v in self._pending.items() if v != "compare"}
        self._submit(
            "compare",
            lambda: {k: train_tokenizer(k, corpus, None if k == "char" else size) for k in KINDS},
        )

    def _render_compare(self) -> None:
        if not self.compare_box.isChecked() or not self._compare:
            return
        if len(self._text) > SYNC_CHARS:
            self.compare_label.setText("Comparing kinds needs a shorter text.")
            return
        current = self._tok.kind if self._tok else None
        parts = []
        for kind, tok in self._compare.items():
            n = tok.count_tokens(self._text)
            label = f"{SHORT_LABELS[kind]} {n:,}"
            parts.append(f"<b>{label}</b>" if kind == current else label)
        self.compare_label.setText("ℓ by kind: " + " · ".join(parts))

    # -- retraining off the GUI thread -------------------------------------------------
    def _retrain(self) -> None:
        if not self._corpus:
            self._show_notes(["No corpus to train a tokenizer on."])
            return
        if self._training:
            self._retrain_timer.start()  # one at a time: try again shortly
            return
        kind = self.kind_box.currentData()
        size = None if kind == "char" else self.vocab_box.value()
        corpus = self._corpus
        self._training = True
        self._show_notes([f"Training a {KIND_LABELS[kind].lower()} tokenizer…"])
        self._submit("train", lambda: train_tokenizer(kind, corpus, size))
        if self.compare_box.isChecked():
            self._train_compare()  # the same N_V for every kind

    def _on_trained(self, tok: object, error: str) -> None:
        if not isinstance(tok, Tokenizer):
            self._show_notes([f"Could not train the tokenizer: {error}"])
            return
        self.set_tokenizer(tok)
        self.tokenizer_changed.emit(tok)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt)
        self._pending.clear()
        self._futures.clear()
        self._poll_timer.stop()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        self._training = False
        super().closeEvent(event)
