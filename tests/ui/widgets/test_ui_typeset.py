"""The notation on screen: the bundled fonts have every glyph, and each place that shows a
formula, title, shape or pseudocode line shows it typeset."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QLabel

from explorer.ui.widgets.export_parts import Caption
from explorer.ui.widgets.typeset import (
    NOTATION_FAMILIES,
    TypesetDelegate,
    install_fonts,
    set_typeset,
)

GLYPHS = "ℓX̃ᵀ√∈ℝγβτσμθΣ×←≤∑⟨⟩⊙≅∀−…′·∝"
TIMEOUT = 30_000


def test_the_bundled_fonts_have_every_glyph_of_the_notation(qapp):
    families = install_fonts()
    assert set(NOTATION_FAMILIES) <= set(families)
    metrics = [QFontMetrics(QFont(f)) for f in NOTATION_FAMILIES]
    missing = [c for c in GLYPHS if not any(m.inFontUcs4(ord(c)) for m in metrics)
               and not c.isspace() and ord(c) not in (0x0303,)]
    assert missing == []
    assert any(m.inFontUcs4(0x0303) for m in metrics)  # the tilde of X̃


def test_a_typeset_label_is_rich_text(qapp):
    label = QLabel()
    set_typeset(label, "W_q^h X̃")
    assert label.textFormat() == Qt.TextFormat.RichText
    assert label.text() == "<i>W</i><sub><i>q</i></sub><sup><i>h</i></sup> <i>X̃</i>"
    assert label.font().families()[:2] == list(NOTATION_FAMILIES)


def test_captions_typeset_their_title_and_formula_but_not_the_tokens():
    caption = Caption("Layer 1 · Q^h", "d_attn × ℓ", "Q ← W_q X", "my_var x^2")
    (title, bold), (second, _), (tokens, _) = caption.html_lines()
    assert bold and "<sup>" in title and "<sub>attn</sub>" in second
    assert tokens == "tokens: my_var x^2"  # what was typed, as typed


def test_the_window_shows_steps_paper_and_lists_typeset(qtbot, open_window):
    window = open_window(arch="decoder", text="the king sings .")
    window.session.select_name("blocks.0.attn.q")
    assert "<sub>" in window.heatmap.formula.text() and "_" not in window.heatmap.title.text()
    assert window.heatmap.formula.textFormat() == Qt.TextFormat.RichText
    paper = window.pseudocode.outer
    assert isinstance(paper.lines.itemDelegate(), TypesetDelegate)
    assert "<sub>" in paper.lines.item(4).toolTip()
    assert isinstance(window.step_list.itemDelegate(), TypesetDelegate)
    item = window.step_list.currentItem()
    assert "<sup>" in item.toolTip(0) and len(item.text(0)) <= 32  # short, full in the tip
    window.presentation.enter()
    assert window.presentation.overlay.textFormat() == Qt.TextFormat.RichText
    window.presentation.leave()
    window.close()
