"""The input: the text x (and the context z of an encoder-decoder), token boundaries under
it, and the chunk selector with a sentence saying what is fed (never a silent cut)."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt, QTimer, Signal
from PySide6.QtGui import QFontMetrics, QKeyEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from explorer.state.inputs import MAX_TEXT

QWIDGETSIZE_MAX = 16_777_215  # Qt's "no maximum size"


class TextBox(QPlainTextEdit):
    """A few lines of plain text; Escape hands the keyboard back to the step-through.

    A paste that would make the text longer than ``max_chars`` (what the window reads,
    ``MAX_TEXT``) is cut to fit before the box lays it out: a 10 MB paste costs what
    the window reads. Signal ``paste_cut(pasted, kept)`` says so (characters)."""

    escaped = Signal()
    paste_cut = Signal(int, int)

    def __init__(self, lines: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.max_chars = MAX_TEXT
        self.setTabChangesFocus(True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.lines = lines
        self.set_lines(lines)

    def set_lines(self, lines: int, grow: bool = True) -> None:
        """Room for ``lines`` lines of text, up to twice that when ``grow``."""
        height = QFontMetrics(self.font()).lineSpacing() * lines + 14
        self.setMinimumHeight(height)
        self.setMaximumHeight(height * 2 if grow else height)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        if event.key() == Qt.Key.Key_Escape:
            self.escaped.emit()
            return
        super().keyPressEvent(event)

    def insertFromMimeData(self, source: QMimeData) -> None:  # noqa: N802 (Qt override)
        if not source.hasText():
            super().insertFromMimeData(source)
            return
        text = source.text()
        cursor = self.textCursor()
        kept_around = self.document().characterCount() - 1 - len(cursor.selectedText())
        room = max(0, self.max_chars - kept_around)
        if len(text) <= room:
            super().insertFromMimeData(source)
            return
        cursor.insertText(text[:room])
        self.setTextCursor(cursor)
        self.ensureCursorVisible()
        self.paste_cut.emit(len(text), room)


class InputPanel(QWidget):
    """Text boxes, the tokenization view (when given) and the chunk selectors."""

    text_edited = Signal(str)
    context_edited = Signal(str)
    compare_edited = Signal(str)  # the second text B ("" while the compare row is hidden)
    compare_shown = Signal(bool)  # the compare row was shown or hidden
    chunk_selected = Signal(int)  # 0-based
    context_chunk_selected = Signal(int)
    escaped = Signal()

    def __init__(self, tokens_view: QWidget | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = TextBox(2)
        self.text.setPlaceholderText("Type a sentence; every view follows as you type")
        self.text.setToolTip("The text x the model reads. Every view updates as you type. "
                             "Press Esc to go back to stepping with the arrow keys.")
        self.context = TextBox(1)
        self.context.setPlaceholderText("Context z for the encoder (the source sentence)")
        self.context.setToolTip("The encoder-decoder's context z (Algorithm 8): the encoder "
                                "reads it, the decoder attends to it by cross-attention.")
        self.compare = TextBox(1)
        self.compare.setPlaceholderText("A second text B, compared with the text x (A)")
        self.compare.setToolTip("Text B, compared with the text x (A): the Attention and "
                                "Lens tabs show A, B or A − B on one colour scale, the "
                                "Output tab B's probabilities beside A's with KL(P_A ‖ P_B). "
                                "Ctrl+B hides this row and ends the comparison.")
        self.context_label = QLabel("Context z:")
        self.text_label = QLabel("Text x:")
        self.compare_label = QLabel("Compare with B:")
        for label in (self.text_label, self.context_label, self.compare_label):
            label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        self.chunk = self._spin("Which chunk of ℓ_max tokens of the text is shown")
        self.context_chunk = self._spin("Which chunk of ℓ_max tokens of the context is shown")
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.note.setToolTip("What is fed to the model: token count, special tokens, chunks")
        self.tokens_view = tokens_view

        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.context_label, 0, 0)
        grid.addWidget(self.context, 0, 1)
        grid.addWidget(self.text_label, 1, 0)
        grid.addWidget(self.text, 1, 1)
        grid.addWidget(self.compare_label, 2, 0)
        grid.addWidget(self.compare, 2, 1)
        chunks = QHBoxLayout()
        chunks.addWidget(self.note, 1)
        self.chunk_label = QLabel("Chunk:")
        self.context_chunk_label = QLabel("Context chunk:")
        for label, spin in ((self.chunk_label, self.chunk),
                            (self.context_chunk_label, self.context_chunk)):
            chunks.addWidget(label)
            chunks.addWidget(spin)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(grid)
        left_layout.addLayout(chunks)
        left_layout.addStretch(1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        if tokens_view is not None:
            area = QScrollArea()
            area.setWidgetResizable(True)
            area.setFrameShape(QFrame.Shape.NoFrame)
            area.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            area.setWidget(tokens_view)
            area.setMinimumWidth(280)
            self.splitter.addWidget(area)
            self.splitter.setSizes([1, 1])
        self._tokens_view = tokens_view
        self._compact = False
        layout.addWidget(self.splitter)

        self.text.textChanged.connect(lambda: self.text_edited.emit(self.text.toPlainText()))
        self.context.textChanged.connect(
            lambda: self.context_edited.emit(self.context.toPlainText()))
        self.chunk.valueChanged.connect(lambda v: self.chunk_selected.emit(v - 1))
        self.context_chunk.valueChanged.connect(
            lambda v: self.context_chunk_selected.emit(v - 1))
        self.compare.textChanged.connect(lambda: self.compare_edited.emit(self.compare_text()))
        for box in (self.text, self.context, self.compare):
            box.escaped.connect(self.escaped.emit)
        self.set_context_visible(False)
        self.set_compare_visible(False)
        self.set_chunks(1, 0, None, 0, "")

    def needed_height(self) -> int:
        """The height that shows the token strip whole (its ids row included)."""
        view = self._tokens_view
        return view.minimumSizeHint().height() + 8 if view is not None else 0

    def set_compact(self, compact: bool) -> None:
        """A small screen (True): one line of text, no token strip and no note (the
        chunk selectors stay when the text has chunks); False: everything back."""
        self._compact = compact
        for box in (self.text, self.context, self.compare):
            box.set_lines(1 if compact else box.lines, grow=not compact)
        self.note.setVisible(not compact)
        if self._tokens_view is not None:
            self.splitter.widget(1).setVisible(not compact)
        self._fit_compact()

    def _fit_compact(self) -> None:
        """Compact: no taller than its lines (a box or the chunk selectors came or went)."""
        self.setMaximumHeight(self.compact_height() if self._compact else QWIDGETSIZE_MAX)

    def is_compact(self) -> bool:
        return self._compact

    def compact_height(self) -> int:
        """The height of the compact input: its text boxes shown (one line each) and the
        chunk selectors when the text has chunks."""
        boxes = [b for b in (self.text, self.context, self.compare) if not b.isHidden()]
        height = sum(b.minimumHeight() for b in boxes) + 6 * (len(boxes) - 1) + 6
        if not self.chunk.isHidden() or not self.context_chunk.isHidden():
            height += self.chunk.sizeHint().height() + 6
        return height

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        """When the panel's width changes (the window's first layout, a smaller screen),
        the token strip gets room for its controls again; dragging the splitter is the
        user's own choice and is left alone."""
        super().resizeEvent(event)
        if self._tokens_view is not None and event.size().width() != event.oldSize().width():
            QTimer.singleShot(0, self.balance)

    def balance(self) -> None:
        """Half the width each, but the token strip at least as wide as its controls (a
        1280-pixel projector must not cut "compare kinds") while the text keeps 240 px."""
        total = self.splitter.width()
        if total <= 0 or self._tokens_view is None:
            return
        need = self._tokens_view.minimumSizeHint().width() + 4
        if self.splitter.sizes()[-1] >= need:
            return
        right = max(total // 2, min(need, total - 240))
        self.splitter.setSizes([total - right, right])

    @staticmethod
    def _spin(tip: str) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(1, 1)
        spin.setToolTip(tip)
        spin.setKeyboardTracking(False)
        return spin

    def set_texts(self, text: str, context: str) -> None:
        """Fill the boxes without emitting edits."""
        for box, value in ((self.text, text), (self.context, context)):
            if box.toPlainText() != value:
                box.blockSignals(True)
                box.setPlainText(value)
                box.blockSignals(False)

    def compare_text(self) -> str:
        """Text B while the compare row is shown, else "" (no comparison)."""
        return self.compare.toPlainText() if self.compare_visible() else ""

    def compare_visible(self) -> bool:
        return not self.compare.isHidden()

    def set_compare_visible(self, visible: bool) -> None:
        """Show or hide the compare row; hiding it ends the comparison (its text stays
        in the box for the next time)."""
        was = self.compare_visible()
        for w in (self.compare, self.compare_label):
            w.setVisible(visible)
        if was != visible:
            self.compare_shown.emit(visible)
            self.compare_edited.emit(self.compare_text())
        self._fit_compact()

    def set_compare(self, text: str) -> None:
        """Fill the compare box without emitting an edit."""
        if self.compare.toPlainText() != text:
            self.compare.blockSignals(True)
            self.compare.setPlainText(text)
            self.compare.blockSignals(False)

    def set_context_visible(self, visible: bool) -> None:
        for w in (self.context, self.context_label):
            w.setVisible(visible)
        self._fit_compact()

    def set_chunks(self, n: int, index: int, n_context: int | None, context_index: int,
                   note: str) -> None:
        """Chunk counts and selections (0-based), and the sentence describing the input."""
        self.note.setText(note)
        for spin, label, count, at in ((self.chunk, self.chunk_label, n, index),
                                       (self.context_chunk, self.context_chunk_label,
                                        n_context or 0, context_index)):
            spin.blockSignals(True)
            spin.setRange(1, max(1, count))
            spin.setValue(at + 1)
            spin.setSuffix(f" of {count}")
            spin.blockSignals(False)
            spin.setVisible(count > 1)
            label.setVisible(count > 1)
        self._fit_compact()
