"""How the word under the cursor gets its pieces: the tokenizer lab's right side.

The text (read-only; click or move the cursor onto a word), then the word's pieces as
boxes, stepped with the keys (→ or Space: next, ←: back, Home, End): for BPE one merge
per key press with its rank, the merge list below with the current merge marked; for
WordPiece the greedy longest match, one piece per key press, every candidate tried
listed; for Unigram the best segmentation against the next best, with each piece's
log probability. Char and word tokenizers say what there is (and is not) to see.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QLabel,
    QPlainTextEdit,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from explorer.tokenize import Tokenizer
from explorer.tokenize.inside import (
    Word,
    bpe_replay,
    bpe_tables,
    piece_score,
    unigram_best,
    word_at,
    wordpiece_steps,
    words,
)
from explorer.ui.tokens.vocab_table import RowsModel, make_table
from explorer.ui.widgets.style import visible_token

BOX = ("#dbeafe", "#fde68a")
NEW_BOX = "#86efac"  # the piece the last step made
REST = "#9ca3af"

EXPLAIN = {
    "char": "<b>Character-level</b>: every character is one piece (unknown: "
            "<code>&lt;unk&gt;</code>); no merges, nothing to replay.",
    "word": "<b>Word-level</b>: each word or punctuation mark is one piece if it is in the "
            "vocabulary, else <code>&lt;unk&gt;</code>; no merges, nothing to replay.",
    "bpe": "<b>BPE</b>: from single characters (Ġ: a space), merge the adjacent pair "
           "learned first (lowest rank). Click the pieces; <b>→</b> next merge, <b>←</b> back.",
    "wordpiece": "<b>WordPiece</b>: from the left, the longest vocabulary entry is the next "
                 "piece (<code>##</code>: a continuation). <b>→</b> next piece.",
    "unigram": "<b>Unigram</b>: the segmentation whose pieces' log probabilities have the "
               "highest sum (Viterbi); ▁ is a space. <b>→</b> the next best.",
}


MOVES = {Qt.Key.Key_Right: 1, Qt.Key.Key_Space: 1, Qt.Key.Key_Left: -1,
         Qt.Key.Key_Backspace: -1, Qt.Key.Key_Home: -10**9, Qt.Key.Key_End: 10**9}


@dataclass(frozen=True)
class Stage:
    """What one key press shows: the pieces, the index of the new one, a caption."""

    pieces: tuple[str, ...]
    new: int | None
    caption: str
    rest: str = ""  # the part of the word not reached yet (WordPiece)


class Stepper(QLabel):
    """The word's pieces as boxes; → / Space / ← / Home / End step through the stages."""

    stepped = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setWordWrap(True)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setMinimumHeight(76)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.setToolTip("Click here, then → or Space for the next step, ← to go back")
        self.stages: list[Stage] = []
        self.index = 0
        self.counted = True  # say "step k of n" under the pieces

    def set_stages(self, stages: list[Stage], index: int = 0) -> None:
        self.stages = stages
        self.index = max(0, min(index, len(stages) - 1))
        self._draw()

    def step(self, delta: int) -> None:
        if not self.stages:
            return
        self.index = max(0, min(self.index + delta, len(self.stages) - 1))
        self._draw()
        self.stepped.emit(self.index)

    def event(self, event: QEvent) -> bool:
        # The window's own shortcuts (→: next step, …) must not take these keys from here.
        if (event.type() == QEvent.Type.ShortcutOverride and self.stages
                and event.key() in MOVES and event.modifiers() == Qt.KeyboardModifier.NoModifier):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt)
        key = event.key()
        if key in MOVES and self.stages:
            self.step(MOVES[key])
            return
        super().keyPressEvent(event)

    def _draw(self) -> None:
        if not self.stages:
            self.setText("<i>Put the cursor on a word of the text above.</i>")
            return
        s = self.stages[self.index]
        boxes = []
        for k, p in enumerate(s.pieces):
            colour = NEW_BOX if k == s.new else BOX[k % 2]
            boxes.append(
                f'<span style="background:{colour}; font-size:x-large">&nbsp;'
                f"{html.escape(visible_token(p))}&nbsp;</span>"
            )
        rest = f' <span style="color:{REST}; font-size:x-large">{html.escape(s.rest)}</span>'
        count = (f"step {self.index} of {len(self.stages) - 1}"
                 if len(self.stages) > 1 and self.counted else "")
        self.setText(
            "&nbsp;".join(boxes) + (rest if s.rest else "")
            + f"<br><span>{s.caption}</span>"
            + (f' <span style="color:{REST}">({count})</span>' if count else "")
        )


def _span(w: Word) -> str:
    if w.end - w.start == 1:
        return f"character {w.start + 1}"
    return f"characters {w.start + 1}–{w.end}"


def _q(s: str) -> str:
    return f"<code>{html.escape(visible_token(s))}</code>"


class InsideView(QWidget):
    """The text, the word under its cursor, and how that word gets its pieces."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tok: Tokenizer | None = None
        self._words: list[Word] = []
        self._word: Word | None = None
        self._merge_rows = False
        self.explain = QLabel()
        self.explain.setWordWrap(True)
        self.explain.setTextFormat(Qt.TextFormat.RichText)
        self.explain.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.text_view = QPlainTextEdit()
        self.text_view.setReadOnly(True)
        self.text_view.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.text_view.setToolTip("The input text: put the cursor on a word to see how it "
                                  "gets its pieces")
        self.text_view.setMaximumHeight(64)
        self.text_view.setMinimumHeight(40)
        self.text_view.cursorPositionChanged.connect(self._on_cursor)
        self.word_label = QLabel()
        self.word_label.setTextFormat(Qt.TextFormat.RichText)
        self.word_label.setWordWrap(True)
        self.word_label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.setMinimumWidth(320)
        self.stepper = Stepper()
        self.stepper.stepped.connect(self._on_stepped)
        self.detail_title = QLabel()
        self.detail_title.setWordWrap(True)
        self.detail = RowsModel([""])
        self.table = make_table(self.detail)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.explain)
        layout.addWidget(self.text_view)
        layout.addWidget(self.word_label)
        layout.addWidget(self.stepper)
        layout.addWidget(self.detail_title)
        layout.addWidget(self.table, 1)

    # -- public API ----------------------------------------------------------------------
    def set_tokenizer(self, tok: Tokenizer) -> None:
        self._tok = tok
        self.explain.setText(EXPLAIN.get(tok.kind, "") + self._continuations(tok))
        self._merge_rows = False
        if tok.kind == "bpe":
            self._bpe = bpe_tables(tok)
            merges = tok.merges()
            self.detail.headers = ["rank", "left", "right", "merged"]
            self.detail.set_rows([
                (r, a, b, a + b)
                for r, (a, b) in enumerate(merges)
            ])
            self.detail_title.setText(f"The {len(merges):,} merges, in the order they were "
                                      "learned (as stored; the current one marked)")
            self._merge_rows = True
        else:
            self.detail.headers = [""]
            self.detail.set_rows([])
            self.detail_title.setText("")
        self.table.setVisible(tok.kind in ("bpe", "wordpiece", "unigram"))
        self.set_text(self.text_view.toPlainText())

    @staticmethod
    def _continuations(tok: Tokenizer) -> str:
        if tok.kind != "wordpiece":
            return ""
        vocab = tok.hf.get_vocab(with_added_tokens=False)
        n = sum(1 for p in vocab if p.startswith("##"))
        return (f" {n:,} of the {len(vocab):,} pieces are <code>##</code> continuations "
                "(search ## on the left).")

    def set_text(self, text: str) -> None:
        if text != self.text_view.toPlainText():
            self.text_view.setPlainText(text)
        self._words = words(self._tok, text) if self._tok is not None else []
        self._word = None
        self._on_cursor()

    def select_word_at(self, position: int) -> None:
        cursor = self.text_view.textCursor()
        cursor.setPosition(max(0, min(position, len(self.text_view.toPlainText()))))
        self.text_view.setTextCursor(cursor)
        self._on_cursor()

    def word(self) -> Word | None:
        return self._word

    # -- the word under the cursor ---------------------------------------------------------
    def _on_cursor(self) -> None:
        tok = self._tok
        w = word_at(self._words, self.text_view.textCursor().position())
        if w is None and self._words:
            w = next((x for x in self._words if not x.special), None)
        if tok is None or w == self._word:
            return
        self._word = w
        if w is None:
            self.word_label.setText("")
            self.stepper.set_stages([])
            return
        self.word_label.setText(
            f"The word {_q(self.text_view.toPlainText()[w.start:w.end])} "
            f"({_span(w)}); the model sees {_q(w.text)}"
        )
        if w.special:
            self.stepper.set_stages([Stage((w.text,), None, "a special token: always one piece")])
            return
        stages = {"bpe": self._bpe_stages, "wordpiece": self._wordpiece_stages,
                  "unigram": self._unigram_stages}.get(tok.kind, self._plain_stages)(w.text)
        self.stepper.counted = tok.kind != "unigram"
        self.stepper.set_stages(stages)
        self._on_stepped(0)

    def _plain_stages(self, word: str) -> list[Stage]:
        enc = self._tok.encode(word)
        what = "character" if self._tok.kind == "char" else "word"
        return [Stage(tuple(self._tok.token_strings(enc.ids)), None,
                      f"one piece per {what}, looked up in the vocabulary")]

    def _bpe_stages(self, word: str) -> list[Stage]:
        steps = bpe_replay(self._tok, word, self._bpe)
        self._steps = steps
        out = [Stage(steps[0].pieces, None,
                     f"{len(steps[0].pieces)} characters; {len(steps) - 1} merges to apply")]
        for k, s in enumerate(steps[1:], 1):
            a, b = s.pair
            out.append(Stage(s.pieces, s.position,
                             f"merge {k}: rank <b>{s.rank:,}</b>: {_q(a)} + {_q(b)} → {_q(a + b)}"))
        if len(out) > 1:
            out[-1] = Stage(out[-1].pieces, out[-1].new,
                            out[-1].caption + " · no adjacent pair has a merge left: done")
        return out

    def _wordpiece_stages(self, word: str) -> list[Stage]:
        steps = wordpiece_steps(self._tok, word)
        self.detail.headers = ["at", "candidate", "in vocabulary?"]
        self.detail.set_rows([(t.start + 1, t.candidate, "✔ longest match" if t.found else "no")
                              for t in steps.tries])
        self._found_rows = [k for k, t in enumerate(steps.tries) if t.found]
        self.detail_title.setText(f"The {len(steps.tries)} candidates tried, longest first")
        if steps.note:
            return [Stage(tuple(steps.pieces), 0, f"the whole word is unknown: {steps.note}")]
        out = [Stage((), None, "start at the first character", rest=word)]
        found = [t for t in steps.tries if t.found]
        for k, t in enumerate(found):
            tried = sum(1 for u in steps.tries if u.start == t.start)
            out.append(Stage(tuple(steps.pieces[: k + 1]), k,
                             f"at character {t.start + 1}: {tried} candidate(s) tried, "
                             f"longest in the vocabulary {_q(t.candidate)}", rest=word[t.end:]))
        return out

    def _unigram_stages(self, word: str) -> list[Stage]:
        r = unigram_best(self._tok, word)
        def column(seg):
            return [(p + (" (unknown)" if piece_score(self._tok, p) is None else ""), f"{s:.3f}")
                    for p, s in zip(seg.pieces, seg.scores)] if seg is not None else []

        best_rows, next_rows = column(r.best), column(r.next_best)
        n = max(len(best_rows), len(next_rows))
        best_rows += [("", "")] * (n - len(best_rows))
        next_rows += [("", "")] * (n - len(next_rows))
        self.detail.headers = ["best", "log P", "next best", "log P"]
        self.detail.set_rows([(*a, *b) for a, b in zip(best_rows, next_rows)])
        self.detail_title.setText("Each piece's score (its log probability); a segmentation's "
                                  "log P is their sum")
        best = Stage(r.best.pieces, None,
                     f"best: log P = <b>{r.best.log_prob:.3f}</b> (the sum of its pieces)")
        if r.next_best is None:
            return [Stage(best.pieces, None, best.caption + " · the only segmentation")]
        gap = r.best.log_prob - r.next_best.log_prob
        return [
            Stage(best.pieces, None, best.caption + f" · next best {r.next_best.log_prob:.3f}, "
                                                   f"{gap:.3f} lower (→ to see it)"),
            Stage(r.next_best.pieces, None,
                  f"next best: log P = <b>{r.next_best.log_prob:.3f}</b>, "
                  f"{gap:.3f} below the best (← back)"),
        ]

    def _on_stepped(self, index: int) -> None:
        """Mark the row of the current step: the merge (BPE), the match found (WordPiece)."""
        if self._tok is None or not self.stepper.stages:
            return
        row = None
        if self._merge_rows:
            steps = getattr(self, "_steps", [])
            row = steps[index].rank if index < len(steps) else None
        elif self._tok.kind == "wordpiece":
            found = getattr(self, "_found_rows", [])
            row = found[index - 1] if 0 < index <= len(found) else None
        self.detail.highlight = {row} if row is not None else set()
        self.detail.layoutChanged.emit()
        shown = self.detail.row_of(row) if row is not None else None
        if shown is not None:
            self.table.scrollTo(self.detail.index(shown, 0),
                                QAbstractItemView.ScrollHint.PositionAtCenter)
