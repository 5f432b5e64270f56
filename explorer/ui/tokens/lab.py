"""The tokenizer lab: the "Tokenizer" tab.

Left, the vocabulary as a searchable table (``vocab_table.VocabularyView``); right, how
the word under the cursor gets its pieces (``inside.InsideView``). Above: the tokenizer
shown (the model's, one opened from a ``tokenizer.json``, or one trained here on a text
file, off the GUI thread, with progress), and a message line for files that cannot be
used. Public API of ``TokenizerLab``: ``set_tokenizer(tok, origin)``, ``set_text(text)``,
``open_file(path)``, ``train_file(path, kind, size)``, ``is_busy()``, ``tokenizer()``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from explorer.tokenize import KIND_LABELS, KINDS, Tokenizer, load_tokenizer, train_tokenizer
from explorer.tokenize.textfile import read_training_text
from explorer.tokenize.tokenizer import TokenizerFileError
from explorer.ui.tokens.inside import InsideView
from explorer.ui.tokens.render import SHORT_LABELS
from explorer.ui.tokens.vocab_table import VocabularyView
from explorer.ui.widgets.panel import Panel
from explorer.ui.widgets.theme import title_font
from explorer.ui.widgets.workers import TaskThread

SYNC_CHARS = 50_000  # longer texts are cut for the lab (counts and words)


def open_tokenizer_file(path: str | Path, report) -> Tokenizer:
    """``load_tokenizer`` with every way a file can fail turned into one line."""
    p = Path(path)
    report(f"Opening {p.name}…")
    try:
        return load_tokenizer(p)
    except TokenizerFileError:
        raise
    except OSError as exc:
        raise TokenizerFileError(f"{p.name} cannot be read ({exc.strerror or exc})") from None


def train_on_file(path: str | Path, kind: str, size: int, report) -> Tokenizer:
    name = Path(path).name
    report(f"Reading {name}…")
    lines = read_training_text(path)
    chars = sum(len(x) for x in lines)
    report(f"Training a {KIND_LABELS[kind]} tokenizer (N_V {size:,}) on {len(lines):,} lines, "
           f"{chars:,} characters…")
    tok = train_tokenizer(kind, lines, None if kind == "char" else size)
    tok.name = f"{KIND_LABELS[kind]} trained on {name}"
    return tok


class TokenizerLab(QWidget):
    """The vocabulary, merges and segmentation of one tokenizer, on the current text."""

    tokenizer_loaded = Signal(object)  # a tokenizer opened or trained here

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tok: Tokenizer | None = None
        self._model_tok: Tokenizer | None = None
        self._text = ""
        self._thread: TaskThread | None = None

        self.title = QLabel("No tokenizer yet")
        self.title.setFont(title_font(scale=1.15))
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.open_button = QPushButton("Open tokenizer.json…")
        self.open_button.setToolTip("Show a tokenizer from a tokenizer.json file (any: "
                                    "GPT-2, BERT, one saved by this app)")
        self.open_button.clicked.connect(self._ask_open)
        self.kind_box = QComboBox()
        for kind in KINDS:
            self.kind_box.addItem(SHORT_LABELS[kind], kind)
            self.kind_box.setItemData(self.kind_box.count() - 1, KIND_LABELS[kind],
                                      Qt.ItemDataRole.ToolTipRole)
        self.kind_box.setCurrentIndex(KINDS.index("bpe"))
        self.kind_box.setToolTip("The kind of tokenizer to train on a text file")
        self.size_box = QSpinBox()
        self.size_box.setRange(32, 50_000)
        self.size_box.setSingleStep(100)
        self.size_box.setValue(1000)
        self.size_box.setPrefix("N_V ")
        self.size_box.setToolTip("Vocabulary size, special tokens included (byte-level BPE "
                                 "needs at least 256 bytes + 6 specials)")
        self.train_button = QPushButton("on a file…")
        self.train_button.setToolTip("Train a tokenizer of this kind and size on a UTF-8 "
                                     "text file (in the background)")
        self.train_button.clicked.connect(self._ask_train)
        self.model_button = QPushButton("Model's tokenizer")
        self.model_button.setToolTip("Show the model's own tokenizer again")
        self.model_button.clicked.connect(self._back_to_model)
        self.model_button.setVisible(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)  # busy: training reports stages, not a fraction
        self.progress.setMaximumWidth(160)
        self.progress.setVisible(False)
        for b in (self.open_button, self.train_button, self.model_button):
            b.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Fixed)  # never cut
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        controls = QHBoxLayout()
        controls.addWidget(self.open_button)
        controls.addWidget(QLabel(" or train"))
        controls.addWidget(self.kind_box)
        controls.addWidget(self.size_box)
        controls.addWidget(self.train_button)
        controls.addWidget(self.progress)
        controls.addStretch(1)
        controls.addWidget(self.model_button)

        self.vocab = VocabularyView()
        self.inside = InsideView()
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.vocab)
        split.addWidget(self.inside)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setSizes([420, 580])
        self.split = split
        split.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(self.title)
        layout.addLayout(controls)
        layout.addWidget(self.message)
        layout.addWidget(split, 1)
        self.message.setVisible(False)
        self.setMinimumSize(760, 470)  # smaller tabs scroll rather than squeeze the tables

    # -- public API ----------------------------------------------------------------------
    def tokenizer(self) -> Tokenizer | None:
        return self._tok

    def follow_model(self, tok: Tokenizer | None) -> None:
        """The window's tokenizer: shown now, and what "Back to the model's" returns to."""
        if tok is None or tok is self._model_tok:
            return
        self._model_tok = tok
        self.set_tokenizer(tok, "the model's tokenizer")

    def set_tokenizer(self, tok: Tokenizer, origin: str = "") -> None:
        self._tok = tok
        name = KIND_LABELS.get(tok.kind, tok.name) if origin.startswith("opened") else tok.name
        self.title.setText(f"{name} · {origin}" if origin else name)
        self.title.setToolTip(self.title.text())
        self.model_button.setVisible(self._model_tok is not None and tok is not self._model_tok)
        if tok.kind in KINDS:
            self.kind_box.setCurrentIndex(KINDS.index(tok.kind))
        self.vocab.set_tokenizer(tok, self._counts())
        self.inside.set_tokenizer(tok)
        self.inside.set_text(self._text)

    def set_text(self, text: str) -> None:
        cut = len(text) > SYNC_CHARS
        text = text[:SYNC_CHARS]
        if text == self._text:
            return
        if cut:
            self._say(f"A long text: the counts and words here cover its first "
                      f"{SYNC_CHARS:,} characters.")
        self._text = text
        if self._tok is not None:
            self.vocab.set_counts(self._counts())
        self.inside.set_text(text)

    def open_file(self, path: str | Path) -> None:
        p = Path(path)
        where = f"{p.parent.name}/{p.name}" if p.parent.name else p.name
        self._run(lambda report: open_tokenizer_file(path, report), f"opened from {where}")

    def train_file(self, path: str | Path, kind: str, size: int) -> None:
        self._run(lambda report: train_on_file(path, kind, size, report), "trained here")

    def is_busy(self) -> bool:
        return self._thread is not None

    def shutdown(self) -> None:
        if self._thread is not None:
            self._thread.wait()

    # -- work off the GUI thread -----------------------------------------------------------
    def _run(self, fn, origin: str) -> None:
        if self._thread is not None:
            self._say("Still working on the previous file: wait for it to finish.", error=True)
            return
        thread = TaskThread(fn, self)
        self._origin = origin
        # bound methods of this widget: Qt queues the calls onto the GUI thread
        thread.progress.connect(self._on_progress)
        thread.succeeded.connect(self._on_done)
        thread.failed.connect(self._on_failed)
        thread.finished.connect(self._on_finished)
        self._thread = thread
        for w in (self.open_button, self.train_button):
            w.setEnabled(False)
        self.progress.setVisible(True)
        thread.start()

    def _on_finished(self) -> None:
        if self._thread is not None:
            self._thread.deleteLater()
        self._thread = None
        self.progress.setVisible(False)
        for b in (self.open_button, self.train_button, self.model_button):
            b.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Fixed)  # never cut
        for w in (self.open_button, self.train_button):
            w.setEnabled(True)

    def _on_progress(self, text: str) -> None:
        self._say(text)

    def _on_done(self, tok: Any) -> None:
        self.set_tokenizer(tok, self._origin)
        self._say("")  # the title says what is shown
        self.tokenizer_loaded.emit(tok)

    def _on_failed(self, message: str, _details: str = "") -> None:
        self._say(message.splitlines()[0] if message else "failed", error=True)

    def _say(self, text: str, error: bool = False) -> None:
        colour = "#b91c1c" if error else "#1f2937"
        self.message.setStyleSheet(f"color: {colour};")
        self.message.setText(("⚠ " if error else "") + text)
        self.message.setVisible(bool(text))

    def message_text(self) -> str:
        return "" if self.message.isHidden() else self.message.text()

    def _ask_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a tokenizer", "",
                                              "tokenizer.json (*.json);;All files (*)")
        if path:
            self.open_file(path)

    def _ask_train(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Train on a text file", "",
                                              "Text (*.txt *.md);;All files (*)")
        if path:
            self.train_file(path, self.kind_box.currentData(), self.size_box.value())

    def _back_to_model(self) -> None:
        if self._model_tok is not None:
            self.set_tokenizer(self._model_tok, "the model's tokenizer")
            self._say("")

    def _counts(self) -> Counter:
        if self._tok is None or not self._text:
            return Counter()
        return Counter(self._tok.encode(self._text).ids)


class TokenizerTab(Panel):
    title = "Tokenizer"
    tooltip = ("The tokenizer lab: the vocabulary, the BPE merges and how a word gets its "
               "pieces; open a tokenizer.json or train one on a text file")

    def __init__(self) -> None:
        super().__init__(TokenizerLab())
        self._text_timer = QTimer(self.view, singleShot=True, interval=250)
        self._text_timer.timeout.connect(self._pull_text)

    def refresh(self, session: Any) -> None:
        self.view.follow_model(getattr(session, "tokenizer", None))
        self._pull_text()

    def model_changed(self, session: Any) -> None:
        self.view.follow_model(getattr(session, "tokenizer", None))
        self._pull_text()

    def text_edited(self) -> None:
        if self.view.isVisible():  # a hidden tab reads the text when shown (refresh)
            self._text_timer.start()

    def _pull_text(self) -> None:
        if self.host is not None:
            self.view.set_text(self.host.input_texts()[0])

    def shutdown(self) -> None:
        self._text_timer.stop()
        self.view.shutdown()
