"""Drawing tokens as coloured pieces: the pieces of the token strip and the ids row
(alternating colours, special and unknown tokens, chunk boundaries, gaps), only from the
first token that changed, and the read-out under the pointer."""

from __future__ import annotations

import math

from PySide6.QtCore import QUrl
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import (
    QToolTip,
)

from explorer.tokenize import Encoding, Tokenizer
from explorer.ui.tokens.pieces import MAX_SHOWN_TOKENS, visible
from explorer.ui.tokens.strip import BAR, GAP, SMALL, TOKEN

COLOURS = ("#dbeafe", "#fde68a")  # alternating token backgrounds (blue, amber)
SPECIAL_COLOUR = "#e9d5ff"
UNK_COLOUR = "#fecaca"
GAP_COLOUR = "#9ca3af"
LOSS_RED = (239, 68, 68)  # the background of a token as surprising as a uniform guess
SHORT_LABELS = {
    "char": "char",
    "word": "word",
    "bpe": "BPE",
    "wordpiece": "WordPiece",
    "unigram": "Unigram",
}


def common_prefix(a: str, b: str) -> int:
    """The length of the longest common prefix of ``a`` and ``b`` (C-speed compares)."""
    if a == b:
        return len(a)
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def gap_pieces(owner: int, text: str):
    """Characters no token covers, drawn faint; a newline among them breaks the row."""
    parts = text.split("\n")
    for j, part in enumerate(parts):
        last = j == len(parts) - 1
        if part or not last:
            yield owner, (visible(part if last else part + "\n"), GAP, not last)


class TokenRendering:
    """A mixin of ``TokenizationWidget``: the strips (``PieceStrip``) are told only what
    changed since they were last drawn, so a keystroke at the end of a long text lays out
    a token or two; loss colours are read when a token is painted."""

    # -- drawing ---------------------------------------------------------------------
    def _render(self, full: bool = False) -> None:
        tok, enc = self._tok, self._enc
        if tok is None or enc is None:
            self._forget_drawn()
            self.tokens_view.set_message("No tokenizer yet.")
            self.count_label.clear()
            self._show_notes([])
            return
        shown = self._shown = min(len(enc.ids), MAX_SHOWN_TOKENS)
        first, first_id = (0, 0) if full else self._first_changed(enc, shown)
        self.tokens_view.replace_from(first, self._token_pieces(tok, enc, first, shown))
        self.tokens_view.set_message("(no tokens: type some text)")
        self.ids_view.replace_from(first_id, self._id_pieces(enc, first_id, shown))
        self._drawn = (tok, self._l_max, enc.text, list(enc.ids[:shown]),
                       list(enc.offsets[:shown]))
        total = self._total
        counted = f"<b>{total:,}</b>" if total is not None else "<i>counting…</i>"
        self.count_label.setText(f"{counted} tokens")  # N_V is in the box beside it
        self.count_label.setToolTip(f"Number of tokens ℓ of the text (without bos/eos); "
                                    f"vocabulary N_V = {tok.vocab_size:,}")
        notes = list(enc.notes)
        n = total if total is not None else len(enc.ids)
        if total is None:
            notes.append(f"showing the first {shown:,} tokens of a long text (counting all…)")
        elif total > shown:
            notes.append(f"showing the first {shown:,} of {total:,} tokens")
        if self._l_max and n > self._l_max:
            chunks = -(-n // self._l_max)
            notes.append(
                f"longer than ℓ_max = {self._l_max}: {chunks:,} chunks of at most "
                f"{self._l_max} tokens (red bars)"
            )
        self._show_notes(notes)
        self._render_compare()

    def _forget_drawn(self) -> None:
        self._drawn = None
        self._shown = 0
        self._ends = []
        self.tokens_view.clear()
        self.ids_view.clear()

    def _first_changed(self, enc: Encoding, shown: int) -> tuple[int, int]:
        """The first token whose pieces differ from those drawn, and the first id."""
        drawn = self._drawn
        if drawn is None or drawn[0] is not self._tok or drawn[1] != self._l_max:
            return 0, 0
        _, _, text, ids, offsets = drawn
        same = common_prefix(text, enc.text)  # characters before the edit
        new_ids, new_offsets = enc.ids, enc.offsets
        n = min(len(ids), shown)
        first_id = next((i for i in range(n) if ids[i] != new_ids[i]), n)
        first = first_id
        for i in range(first_id):
            if offsets[i] != new_offsets[i] or offsets[i][1] > same:
                first = i
                break
        return first, first_id

    def _token_pieces(self, tok: Tokenizer, enc: Encoding, first: int, shown: int):
        """(token index, piece) from token ``first`` on: the uncovered characters before
        it, a chunk bar, the token itself; then the characters after the last token."""
        del self._ends[first:]
        pos = self._ends[-1] if self._ends else 0
        text, ids, offsets, l_max = enc.text, enc.ids, enc.offsets, self._l_max
        for i in range(first, shown):
            s, e = offsets[i]
            if s > pos:
                yield from gap_pieces(i, text[pos:s])
            if l_max and i and i % l_max == 0:
                yield i, ("┃", BAR, False)
            piece = text[s:e]
            if piece:
                yield i, (visible(piece), TOKEN, piece.endswith("\n"))
            else:  # a token that covers no character: its string, small
                label = tok.token_strings([ids[i]])[0]
                yield i, (visible(label), SMALL, False)
            pos = max(pos, e)
            self._ends.append(pos)
        if shown == len(ids) and pos < len(text):
            yield from gap_pieces(shown, text[pos:])

    def _id_pieces(self, enc: Encoding, first: int, shown: int):
        ids, l_max = enc.ids, self._l_max
        for i in range(first, shown):
            if l_max and i and i % l_max == 0:
                yield i, ("┃", BAR, False)
            yield i, (str(ids[i]), TOKEN, False)

    def _background(self, i: int) -> str | None:
        """The colour behind token i: its loss, else unknown / special / alternating."""
        enc, tok = self._enc, self._tok
        if enc is None or tok is None or i >= self._shown:
            return None
        loss = self._loss_colour(i)
        if loss:
            return loss
        tid = enc.ids[i]
        if tid == tok.special_ids.get("unk"):
            return UNK_COLOUR
        if tid in tok.special_ids.values():
            return SPECIAL_COLOUR
        return COLOURS[i % 2]

    def _loss_colour(self, i: int) -> str | None:
        """The background of token i by its loss (white 0 → red at log N_V, the loss of a
        uniform guess), or None where no loss is shown for it."""
        value = self._shading.get(i)
        if value is None or i >= self._shown or self._shading_ids.get(i) != self._enc.ids[i]:
            return None
        scale = max(math.log(max(self._tok.vocab_size, 2)), 1e-9) if self._tok else 1.0
        f = min(1.0, max(0.0, value / scale))
        r, g, b = (round(255 + f * (c - 255)) for c in LOSS_RED)
        return f"#{r:02x}{g:02x}{b:02x}"

    def _show_notes(self, notes: list[str]) -> None:
        self.status_label.setText(" · ".join(notes))
        self.status_label.setVisible(bool(notes))

    def _on_hover(self, url: QUrl) -> None:
        target = url.toString()
        if not target.startswith("tok:") or self._enc is None:
            QToolTip.hideText()
            return
        i = int(target[4:])
        if not 0 <= i < self._shown:
            QToolTip.hideText()
            return
        tid = self._enc.ids[i]
        s = self._tok.token_strings([tid])[0]
        name = self._tok.special_name(tid) if self._tok else None
        extra = f" (special: {name})" if name else ""
        a, b = self._enc.offsets[i]
        loss = self._shading.get(i) if self._loss_colour(i) is not None else None
        extra += f"\nloss −log P = {loss:.3f} nats" if loss is not None else ""
        QToolTip.showText(
            QCursor.pos(),
            f"token {i + 1}: id {tid}{extra}\n“{visible(s)}”  characters {a}–{b}",
            self.tokens_view,
        )
