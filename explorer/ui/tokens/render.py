"""Drawing tokens as coloured pieces: the HTML of the token strip (alternating colours,
special and unknown tokens, chunk boundaries, gaps) and the read-out under the pointer."""

from __future__ import annotations

import html
import math

from PySide6.QtCore import QUrl
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import (
    QToolTip,
)

from explorer.tokenize import Encoding, Tokenizer
from explorer.ui.tokens.pieces import MAX_SHOWN_TOKENS, visible

COLOURS = ("#dbeafe", "#fde68a")  # alternating token backgrounds (blue, amber)
SPECIAL_COLOUR = "#e9d5ff"
UNK_COLOUR = "#fecaca"
CHUNK_COLOUR = "#dc2626"
GAP_COLOUR = "#9ca3af"
LOSS_RED = (239, 68, 68)  # the background of a token as surprising as a uniform guess
SHORT_LABELS = {
    "char": "char",
    "word": "word",
    "bpe": "BPE",
    "wordpiece": "WordPiece",
    "unigram": "Unigram",
}


class TokenRendering:
    """A mixin of ``TokenizationWidget``."""

    # -- drawing ---------------------------------------------------------------------
    def _render(self) -> None:
        tok, enc = self._tok, self._enc
        if tok is None or enc is None:
            self._tokens = []
            self.tokens_view.setHtml("<i>No tokenizer yet.</i>")
            self.ids_view.clear()
            self.count_label.clear()
            self._show_notes([])
            return
        shown = min(len(enc.ids), MAX_SHOWN_TOKENS)
        strings = tok.token_strings(enc.ids[:shown])
        self._tokens = list(zip(enc.ids[:shown], strings))
        self.tokens_view.setHtml(self._tokens_html(tok, enc, strings))
        ids = [str(i) for i in enc.ids[:shown]]
        if self._l_max:
            bar = f'<b style="color:{CHUNK_COLOUR}">┃</b> '
            ids = [(bar if k and k % self._l_max == 0 else "") + v for k, v in enumerate(ids)]
        self.ids_view.setHtml(" ".join(ids))
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

    def _tokens_html(self, tok: Tokenizer, enc: Encoding, strings: list[str]) -> str:
        specials = set(tok.special_ids.values())
        unk = tok.special_ids.get("unk")
        parts: list[str] = []
        pos = 0
        for i, ((tid, tstr), (s, e)) in enumerate(zip(self._tokens, enc.offsets)):
            if s > pos:  # characters no token covers
                parts.append(self._gap_html(enc.text[pos:s]))
            if self._l_max and i and i % self._l_max == 0:
                parts.append(f'<b style="color:{CHUNK_COLOUR}">┃</b>')
            colour = self._loss_colour(i) or (
                UNK_COLOUR if tid == unk else SPECIAL_COLOUR if tid in specials else COLOURS[i % 2]
            )
            piece = enc.text[s:e]
            label = visible(piece) if piece else visible(tstr)
            small = "" if piece else f"font-size:{self._small_pt}pt; color:#4b5563;"
            parts.append(
                f'<a href="tok:{i}" style="text-decoration:none; color:#111827">'
                f'<span style="background-color:{colour}; {small}">{html.escape(label)}</span></a>'
            )
            if piece.endswith("\n"):
                parts.append("<br>")
            pos = max(pos, e)
        if len(self._tokens) == len(enc.ids) and pos < len(enc.text):
            parts.append(self._gap_html(enc.text[pos:]))
        if not parts:
            return f'<i style="color:{GAP_COLOUR}">(no tokens: type some text)</i>'
        return "<div style='line-height:140%'>" + "".join(parts) + "</div>"

    def _loss_colour(self, i: int) -> str | None:
        """The background of token i by its loss (white 0 → red at log N_V, the loss of a
        uniform guess), or None where no loss is shown for it."""
        value = self._shading.get(i)
        if value is None or i >= len(self._tokens) or self._shading_ids.get(i) != \
                self._tokens[i][0]:
            return None
        scale = max(math.log(max(self._tok.vocab_size, 2)), 1e-9) if self._tok else 1.0
        f = min(1.0, max(0.0, value / scale))
        r, g, b = (round(255 + f * (c - 255)) for c in LOSS_RED)
        return f"#{r:02x}{g:02x}{b:02x}"

    @staticmethod
    def _gap_html(text: str) -> str:
        shown = html.escape(visible(text)).replace("⏎", "⏎<br>")
        return f'<span style="color:{GAP_COLOUR}">{shown}</span>'

    def _show_notes(self, notes: list[str]) -> None:
        self.status_label.setText(" · ".join(notes))
        self.status_label.setVisible(bool(notes))

    def _on_hover(self, url: QUrl) -> None:
        target = url.toString()
        if not target.startswith("tok:") or self._enc is None:
            QToolTip.hideText()
            return
        i = int(target[4:])
        tid, s = self._tokens[i]
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
