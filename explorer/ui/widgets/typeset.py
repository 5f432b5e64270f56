"""The paper's notation on screen: the bundled fonts, typeset labels and list items.

- ``install_fonts()`` registers Noto Sans and Noto Sans Math (``explorer.resources/fonts``,
  SIL Open Font License) once; ``notation_font(base)`` is ``base`` in those families, so
  ℓ, X̃, ᵀ, √, ∈, ℝ and Greek are drawn on every system;
- ``typeset(text)``: the project's formula markup as rich text (``explorer.trace.notation``);
- ``set_typeset(label, text)``: a QLabel showing ``text`` typeset;
- ``TypesetDelegate``: item views (the Steps list, the Paper panel) draw their items
  typeset; ``typeset_tip(text)`` is a tooltip that Qt shows as rich text.
"""

from __future__ import annotations

import functools
import html
from importlib.resources import as_file, files

from PySide6.QtCore import QModelIndex, QPointF, QRect, QRectF, QSize, Qt
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QColor,
    QFont,
    QFontDatabase,
    QFontMetrics,
    QPainter,
    QPalette,
    QTextDocument,
    QTextOption,
)
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
)

from explorer.trace.notation import to_html

FONT_FILES = ("NotoSans-Regular.ttf", "NotoSans-Italic.ttf", "NotoSans-Bold.ttf",
              "NotoSans-BoldItalic.ttf", "NotoSansMath-Regular.ttf")
NOTATION_FAMILIES = ("Noto Sans", "Noto Sans Math")


@functools.cache
def install_fonts() -> tuple[str, ...]:
    """Register the bundled fonts with Qt (once); returns the families that loaded."""
    loaded: list[str] = []
    folder = files("explorer.resources") / "fonts"
    for name in FONT_FILES:
        with as_file(folder / name) as path:
            font_id = QFontDatabase.addApplicationFont(str(path))
        if font_id >= 0:
            loaded.extend(f for f in QFontDatabase.applicationFontFamilies(font_id)
                          if f not in loaded)
    return tuple(loaded)


def notation_font(base: QFont | None = None) -> QFont:
    """``base`` (default: the application font) in the notation's families, the system's
    own font kept as the last fallback."""
    install_fonts()
    font = QFont(base) if base is not None else QFont(QApplication.font())
    families = [*NOTATION_FAMILIES, *(f for f in font.families() if f not in NOTATION_FAMILIES)]
    font.setFamilies(families)
    return font


def typeset(text: str) -> str:
    """Rich text for ``text`` in the project's formula markup."""
    return to_html(text)


def typeset_tip(text: str) -> str:
    """A tooltip Qt shows as rich text (long lines wrap)."""
    return f"<qt>{to_html(text)}</qt>"


def set_typeset(label: QLabel, text: str, prefix_html: str = "") -> None:
    """Show ``text`` typeset in ``label`` (after ``prefix_html``, already rich text)."""
    if label.textFormat() != Qt.TextFormat.RichText:
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setFont(notation_font(label.font()))
    label.setText(prefix_html + to_html(text))


def escape(text: str) -> str:
    """Plain text to put beside typeset text in one rich-text string."""
    return html.escape(text, quote=False)


def draw_typeset(painter: QPainter, rect: QRectF, text: str, font: QFont,
                 color: QColor | None = None) -> None:
    """Paint ``text`` typeset, centred and wrapped in ``rect`` (boxes drawn by hand)."""
    doc = QTextDocument()
    doc.setDocumentMargin(0)
    doc.setDefaultFont(notation_font(font))
    option = QTextOption(Qt.AlignmentFlag.AlignHCenter)
    option.setWrapMode(QTextOption.WrapMode.WordWrap)
    doc.setDefaultTextOption(option)
    doc.setHtml(to_html(text))
    doc.setTextWidth(rect.width())
    context = QAbstractTextDocumentLayout.PaintContext()
    context.palette.setColor(QPalette.ColorRole.Text,
                             color if color is not None else painter.pen().color())
    painter.save()
    painter.translate(rect.left(), rect.top() + max(0.0, (rect.height() - doc.size().height()) / 2))
    doc.documentLayout().draw(painter, context)
    painter.restore()


class TypesetDelegate(QStyledItemDelegate):
    """Draws an item view's text typeset (the item's own text stays its plain markup, so
    searching and tests read what was set). ``selected_text`` is the colour of a selected
    item's text when the view's style sheet gives its own highlight."""

    CACHED = 512  # laid-out documents kept (an item view repaints the same lines often)

    def __init__(self, parent=None, selected_text: QColor | None = None) -> None:
        super().__init__(parent)
        self.selected_text = selected_text
        self._documents: dict[tuple, QTextDocument] = {}

    def _document(self, option: QStyleOptionViewItem, index: QModelIndex,
                  width: float = -1) -> QTextDocument:
        markup = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        wrap = bool(option.features & QStyleOptionViewItem.ViewItemFeature.WrapText)
        width = width if wrap and width > 0 else -1
        key = (markup, option.font.key(), width)
        doc = self._documents.get(key)
        if doc is not None:
            return doc
        doc = QTextDocument()
        doc.setDocumentMargin(2)
        doc.setDefaultFont(notation_font(option.font))
        text = to_html(markup)
        doc.setHtml(f'<span style="white-space: pre-wrap">{text}</span>')  # indentation kept
        if width > 0:
            doc.setTextWidth(width)
        if len(self._documents) >= self.CACHED:
            self._documents.clear()
        self._documents[key] = doc
        return doc

    @staticmethod
    def _text_width(option: QStyleOptionViewItem) -> float:
        """The width the item's text gets: the view's, less the style's margins."""
        view = option.widget
        style = view.style() if view is not None else QApplication.style()
        if view is not None and hasattr(view, "viewport"):
            probe = QStyleOptionViewItem(option)
            probe.rect = QRect(0, 0, view.viewport().width(), max(option.rect.height(), 1))
            return style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, probe,
                                        view).width()
        return option.rect.width()

    def paint(self, painter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        style = opt.widget.style() if opt.widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        text_rect = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, opt, opt.widget)
        doc = self._document(option, index, text_rect.width())
        context = QAbstractTextDocumentLayout.PaintContext()
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        foreground = index.data(Qt.ItemDataRole.ForegroundRole)
        color = foreground.color() if foreground is not None and not selected \
            else opt.palette.color(role)
        if selected and self.selected_text is not None:
            color = self.selected_text
        context.palette.setColor(QPalette.ColorRole.Text, color)
        painter.save()
        top = text_rect.top() + max(0.0, (text_rect.height() - doc.size().height()) / 2)
        painter.translate(QPointF(text_rect.left(), top))
        painter.setClipRect(text_rect.translated(-text_rect.left(), -int(top)))
        doc.documentLayout().draw(painter, context)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:  # noqa: N802
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        doc = self._document(opt, index, self._text_width(opt))
        # not the base class's hint: it measures the raw markup, longer than what is shown
        line = QFontMetrics(notation_font(opt.font)).height() + 4
        return QSize(int(doc.idealWidth()) + 8, max(line, int(doc.size().height()) + 2))
