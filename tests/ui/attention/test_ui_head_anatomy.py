"""A head's anatomy from the Attention tab's head menu (issue 27 §3)."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.ui.conftest import WINDOW_TIMEOUT


def test_the_head_menu_opens_a_heads_qk_ov_and_composition(open_window, qtbot):
    window = open_window(text="the king sings .")
    tab = window.panel("Attention")
    window.tabs.setCurrentWidget(tab.widget)
    grid = tab.view.grid
    qtbot.mouseClick(grid, Qt.MouseButton.RightButton,
                     pos=grid.thumbnail_rect("blocks.1.attn", 0).center().toPoint())
    actions = {a.text(): a for a in tab.menu.actions()}
    assert actions["Anatomy of this head…"].isEnabled()
    actions["Anatomy of this head…"].trigger()
    tab.menu.close()
    qtbot.waitUntil(lambda: tab.anatomy is not None and tab.anatomy.isVisible(),
                    timeout=WINDOW_TIMEOUT)
    dialog = tab.anatomy
    n = window.session.cfg.vocab_size
    assert tuple(dialog.anatomy.qk.shape) == (n, n) == tuple(dialog.anatomy.ov.shape)
    assert len(dialog.plots) == 3  # QK, OV, composition with layer 1's heads
    assert {port for _, port, _ in dialog.anatomy.composition} == {"q", "k", "v"}
    assert "layer 2 · head 1" in dialog.windowTitle()
    dialog.close()
