"""Presentation mode: every piece of text in every tab is at least 18 px high (a hall's
back row), widgets and the plots' axis and text items alike."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QFont, QFontInfo
from PySide6.QtWidgets import QGraphicsSimpleTextItem, QGraphicsTextItem, QWidget

MIN_PX = 18
TIMEOUT = 30_000


def pixel_height(font: QFont, dpi: float) -> float:
    if font.pixelSize() > 0:
        return float(font.pixelSize())
    return font.pointSizeF() * dpi / 72


def small_texts(window, dpi: float) -> list[str]:
    found = []
    for w in window.findChildren(QWidget):
        if w.isVisible() and QFontInfo(w.font()).pixelSize() < MIN_PX:
            found.append(f"{type(w).__name__} {QFontInfo(w.font()).pixelSize()} px")
    for view in window.findChildren(pg.GraphicsView):
        if not view.isVisible():
            continue
        for item in view.scene().items():
            if not item.isVisible():
                continue
            if isinstance(item, pg.AxisItem) and item.style.get("showValues", True):
                font = item.style.get("tickFont") or view.font()
            elif isinstance(item, (QGraphicsTextItem, QGraphicsSimpleTextItem)):
                font = item.font()
            else:
                continue
            if pixel_height(font, dpi) < MIN_PX:
                found.append(f"{type(view).__name__} {type(item).__name__} "
                              f"{pixel_height(font, dpi):.1f} px")
    return found


def test_every_text_is_at_least_18_px_in_presentation_mode(qtbot, qapp, open_window):
    window = open_window(arch="decoder", text="the king sings .")
    window.resize(1920, 1080)
    dpi = qapp.primaryScreen().logicalDotsPerInch()
    window.presentation.enter()
    qtbot.wait(50)
    assert window.geometry() == window.screen().geometry()  # the whole screen
    for i in range(window.tabs.count()):
        window.tabs.setCurrentIndex(i)
        qtbot.wait(30)
        assert small_texts(window, dpi) == [], window.tabs.tabText(i)
    window.presentation.leave()
    window.tabs.setCurrentIndex(0)
    qtbot.wait(30)
    assert small_texts(window, dpi)  # outside presentation mode, normal sizes return
    window.close()
