"""A strip of short labelled pieces (tokens, gaps, chunk bars) laid out in rows, that
builds and paints only what changed or is in view.

``PieceStrip`` keeps its pieces in flat lists. ``replace_from(owner, pieces)`` drops the
pieces of ``owner`` and every later one and lays out the new ones from there: typing at
the end of a long text lays out a piece or two, whatever the text's length. Painting
draws only the rows in the viewport (``painted_rows`` counts them, for tests). A piece
belongs to an owner (a token's index): the background behind it comes from the
``background(owner)`` callback at paint time, so recolouring needs no rebuild.

``single_line=True`` never wraps (the ids row): it scrolls sideways.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable

from PySide6.QtCore import QPoint, QRectF, Qt, QUrl, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPalette
from PySide6.QtWidgets import QAbstractScrollArea, QWidget

TOKEN, SMALL, GAP, BAR = range(4)  # kinds of piece
TEXT_COLOUR = "#111827"
SMALL_COLOUR = "#4b5563"
GAP_COLOUR = "#9ca3af"
BAR_COLOUR = "#dc2626"
MARGIN = 4.0

Piece = tuple[str, int, bool]  # (label, kind, a line break after it)


class PieceStrip(QAbstractScrollArea):
    """Rows of pieces; signal ``highlighted(QUrl)``: ``tok:i`` under the pointer (an empty
    URL when it leaves every token), as ``QTextBrowser.highlighted`` says it."""

    highlighted = Signal(QUrl)

    def __init__(self, parent: QWidget | None = None, single_line: bool = False,
                 spacing: float = 0.0) -> None:
        super().__init__(parent)
        self._single = single_line
        self._spacing = spacing
        self.background: Callable[[int], str | None] = lambda owner: None
        self._labels: list[str] = []
        self._kinds: list[int] = []
        self._breaks: list[bool] = []
        self._owners: list[int] = []
        self._xs: list[float] = []
        self._ws: list[float] = []
        self._rows: list[int] = []
        self._row_starts: list[int] = []  # the first piece of each row
        self._owner_starts: list[int] = []  # the first piece of each owner
        self._widths: dict[tuple[str, int], float] = {}
        self._message = ""
        self._small_font = QFont(self.font())
        self._hovered = -1
        self.laid_out = 0  # pieces laid out since the strip was made (tests count them)
        self.painted_rows = 0  # rows drawn by the latest paint
        self.viewport().setMouseTracking(True)
        self.setHorizontalScrollBarPolicy(
            Qt.ScrollBarPolicy.ScrollBarAsNeeded if single_line
            else Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._font_changed()

    # -- content ---------------------------------------------------------------------
    def set_small_point_size(self, points: int) -> None:
        self._small_font = QFont(self.font())
        self._small_font.setPointSize(points)
        self._font_changed()

    def set_spacing(self, spacing: float) -> None:
        """Room between two pieces (the ids row: a space)."""
        self._spacing = float(spacing)
        self._relayout()

    def set_message(self, text: str) -> None:
        """Shown (in italics) while the strip has no pieces."""
        self._message = text
        self.viewport().update()

    def owners(self) -> int:
        return len(self._owner_starts)

    def replace_from(self, owner: int, pieces: Iterable[tuple[int, Piece]]) -> None:
        """Drop the pieces of ``owner`` and every later owner, then append ``pieces``:
        (owner, (label, kind, break after)) with owners counting up from ``owner``."""
        owner = max(0, min(owner, len(self._owner_starts)))
        cut = self._owner_starts[owner] if owner < len(self._owner_starts) else len(self._labels)
        del self._owner_starts[owner:]
        for lst in (self._labels, self._kinds, self._breaks, self._owners, self._xs,
                    self._ws, self._rows):
            del lst[cut:]
        del self._row_starts[bisect_right(self._row_starts, cut - 1):]
        self._lay_out(pieces)
        self._update_scroll()
        self.viewport().update()

    def clear(self) -> None:
        self.replace_from(0, ())

    def _lay_out(self, pieces: Iterable[tuple[int, Piece]]) -> None:
        if self._labels:
            i = len(self._labels) - 1
            x, row = self._xs[i] + self._ws[i] + self._spacing, self._rows[i]
            if self._breaks[i] and not self._single:
                x, row = MARGIN, row + 1
        else:
            x, row = MARGIN, 0
        limit = max(40.0, self.viewport().width() - MARGIN)
        widths, measure = self._widths, self._measure
        for owner, (label, kind, brk) in pieces:
            while len(self._owner_starts) <= owner:
                self._owner_starts.append(len(self._labels))
            w = widths.get((label, kind))
            if w is None:
                w = widths[(label, kind)] = measure(label, kind)
            if not self._single and x > MARGIN and x + w > limit:
                x, row = MARGIN, row + 1
            if not self._row_starts or self._rows[self._row_starts[-1]] != row:
                self._row_starts.append(len(self._labels))
            self._labels.append(label)
            self._kinds.append(kind)
            self._breaks.append(brk)
            self._owners.append(owner)
            self._xs.append(x)
            self._ws.append(w)
            self._rows.append(row)
            self.laid_out += 1
            x += w + self._spacing
            if brk and not self._single:
                x, row = MARGIN, row + 1

    def _measure(self, label: str, kind: int) -> float:
        metrics = self._small_metrics if kind == SMALL else self._metrics
        return metrics.horizontalAdvance(label)

    def _relayout(self) -> None:
        """Lay every piece out again (a new width or font)."""
        saved = [(o, (lab, k, b)) for o, lab, k, b in
                 zip(self._owners, self._labels, self._kinds, self._breaks)]
        self.replace_from(0, saved)

    # -- text, for tests and copying -------------------------------------------------
    def toPlainText(self) -> str:  # noqa: N802 (the name QTextBrowser gives it)
        if not self._labels:
            return self._message
        out = []
        for label, brk in zip(self._labels, self._breaks):
            out.append(label)
            if brk and not self._single:
                out.append("\n")
        return " ".join(out) if self._single else "".join(out)

    def small_labels(self) -> list[str]:
        """The labels drawn small (tokens that cover no character of the text)."""
        return [lab for lab, k in zip(self._labels, self._kinds) if k == SMALL]

    def row_count(self) -> int:
        return self._rows[-1] + 1 if self._rows else 0

    def rows_in_view(self) -> int:
        return int(self.viewport().height() // self._row_h) + 1

    def scroll_to_owner(self, owner: int) -> None:
        """Bring the row (or, single-line, the place) of ``owner``'s pieces into view."""
        if not self._owner_starts:
            return
        i = self._owner_starts[min(owner, len(self._owner_starts) - 1)]
        if i >= len(self._labels):
            i = len(self._labels) - 1
        if i < 0:
            return
        if self._single:
            bar = self.horizontalScrollBar()
            x, w, view = self._xs[i], self._ws[i], self.viewport().width()
            if x < bar.value() or x + w > bar.value() + view:
                bar.setValue(int(x + w - view + MARGIN))
        else:
            bar = self.verticalScrollBar()
            top, view = self._rows[i] * self._row_h, self.viewport().height()
            if top < bar.value() or top + self._row_h > bar.value() + view:
                bar.setValue(int(top + self._row_h - view + 2))

    # -- Qt --------------------------------------------------------------------------
    def _font_changed(self) -> None:
        self._metrics = QFontMetricsF(self.font())
        self._small_metrics = QFontMetricsF(self._small_font)
        self._row_h = self._metrics.lineSpacing() * (1.0 if self._single else 1.4)
        self._widths.clear()
        self._relayout()

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(event)
        if event.type() == event.Type.FontChange:
            self._font_changed()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        if not self._single and event.size().width() != event.oldSize().width():
            self._relayout()
        self._update_scroll()

    def _update_scroll(self) -> None:
        if self._single:
            end = (self._xs[-1] + self._ws[-1] + MARGIN) if self._labels else 0
            self.horizontalScrollBar().setRange(0, max(0, int(end - self.viewport().width())))
            self.horizontalScrollBar().setPageStep(self.viewport().width())
        else:
            height = self.row_count() * self._row_h + 4
            self.verticalScrollBar().setRange(
                0, max(0, int(height - self.viewport().height())))
            self.verticalScrollBar().setPageStep(self.viewport().height())
            self.verticalScrollBar().setSingleStep(int(self._row_h))

    def scrollContentsBy(self, dx: int, dy: int) -> None:  # noqa: N802 (Qt override)
        self.viewport().update()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self.viewport())
        painter.fillRect(self.viewport().rect(), self.palette().color(QPalette.ColorRole.Base))
        dx = self.horizontalScrollBar().value() if self._single else 0
        dy = 0 if self._single else self.verticalScrollBar().value()
        if not self._labels:
            font = QFont(self.font())
            font.setItalic(True)
            painter.setFont(font)
            painter.setPen(QColor(GAP_COLOUR))
            painter.drawText(QRectF(MARGIN, 2, self.viewport().width(), self._row_h),
                             Qt.AlignmentFlag.AlignVCenter, self._message)
            self.painted_rows = 0
            return
        first = max(0, int(dy // self._row_h))
        last = min(len(self._row_starts) - 1, int((dy + self.viewport().height()) // self._row_h))
        self.painted_rows = max(0, last - first + 1)
        if first > last:
            return
        lo = self._row_starts[first]
        hi = self._row_starts[last + 1] if last + 1 < len(self._row_starts) else len(self._labels)
        if self._single:  # one row: only the pieces in the visible span
            lo = max(0, bisect_right(self._xs, dx) - 1)
            hi = min(hi, bisect_right(self._xs, dx + self.viewport().width()))
        pad = (self._row_h - self._metrics.height()) / 2
        fonts = {TOKEN: self.font(), SMALL: self._small_font, GAP: self.font(),
                 BAR: self.font()}
        pens = {TOKEN: QColor(TEXT_COLOUR), SMALL: QColor(SMALL_COLOUR),
                GAP: QColor(GAP_COLOUR), BAR: QColor(BAR_COLOUR)}
        current = -1
        for i in range(lo, hi):
            kind = self._kinds[i]
            rect = QRectF(self._xs[i] - dx, self._rows[i] * self._row_h - dy + pad,
                          self._ws[i], self._metrics.height())
            if kind in (TOKEN, SMALL):
                colour = self.background(self._owners[i])
                if colour:
                    painter.fillRect(rect, QColor(colour))
            if kind != current:
                painter.setFont(fonts[kind])
                painter.setPen(pens[kind])
                current = kind
            painter.drawText(rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                             self._labels[i])

    def piece_at(self, pos: QPoint) -> int:
        """The piece under ``pos`` (viewport coordinates), or -1."""
        dx = self.horizontalScrollBar().value() if self._single else 0
        dy = 0 if self._single else self.verticalScrollBar().value()
        x, y = pos.x() + dx, pos.y() + dy
        row = int(y // self._row_h)
        if not 0 <= row < len(self._row_starts):
            return -1
        lo = self._row_starts[row]
        hi = self._row_starts[row + 1] if row + 1 < len(self._row_starts) else len(self._labels)
        i = bisect_right(self._xs, x, lo, hi) - 1
        if i >= lo and self._xs[i] <= x <= self._xs[i] + self._ws[i]:
            return i
        return -1

    def owner_at(self, pos: QPoint) -> int:
        """The token (owner) under ``pos`` or -1 (a gap or chunk bar is no token)."""
        i = self.piece_at(pos)
        return self._owners[i] if i >= 0 and self._kinds[i] in (TOKEN, SMALL) else -1

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 (Qt override)
        owner = self.owner_at(event.position().toPoint())
        if owner != self._hovered:
            self._hovered = owner
            self.highlighted.emit(QUrl(f"tok:{owner}") if owner >= 0 else QUrl())
        super().mouseMoveEvent(event)

    def leaveEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if self._hovered >= 0:
            self._hovered = -1
            self.highlighted.emit(QUrl())
        super().leaveEvent(event)
