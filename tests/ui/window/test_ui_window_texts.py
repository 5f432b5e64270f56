"""Very long texts: the warning stays while the text is too long, the settings keep a
bounded prefix (and the next start says so), and an oversized settings file starts fast."""

from __future__ import annotations

import time

from explorer.state.session import MAX_TEXT
from explorer.ui.window.main_window import MainWindow
from explorer.ui.window.settings import MAX_SAVED_TEXT, SETTINGS_ENV

TIMEOUT = 60_000


def open_window(qtbot, text=None):
    window = MainWindow(arch="decoder", text=text)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.views_updated, timeout=TIMEOUT):
        window.start()
    return window


def test_a_huge_paste_keeps_its_warning_until_the_text_changes(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv(SETTINGS_ENV, str(tmp_path / "settings.ini"))
    window = open_window(qtbot)
    huge = "the cat sat . " * (MAX_TEXT // 14 + 1000)
    with qtbot.waitSignal(window.views_updated, timeout=TIMEOUT):
        window.inputs.text.setPlainText(huge)
    assert window.banner.isVisible() and "at most" in window.banner.text()
    window.session.step_by(1)  # stepping and new traces do not clear it
    qtbot.wait(300)
    assert "at most" in window.banner.text() and window.banner.isVisible()
    with qtbot.waitSignal(window.views_updated, timeout=TIMEOUT):
        window.inputs.text.setPlainText("a short text")
    assert not window.banner.isVisible()
    window.close()


def test_a_huge_context_is_cut_with_a_message(qtbot, open_window):
    window = open_window(arch="encoder-decoder", text="the cat")
    with qtbot.waitSignal(window.views_updated, timeout=TIMEOUT):
        window.inputs.context.setPlainText("a " * (MAX_TEXT // 2 + 10))
    assert "context" in window.banner.text() and window.banner.isVisible()
    window.close()


def test_a_huge_text_is_saved_as_a_prefix_and_the_next_start_says_so(
        qtbot, tmp_path, monkeypatch):
    path = tmp_path / "settings.ini"
    monkeypatch.setenv(SETTINGS_ENV, str(path))
    window = open_window(qtbot)
    with qtbot.waitSignal(window.views_updated, timeout=TIMEOUT):
        window.inputs.text.setPlainText("the cat sat . " * (MAX_SAVED_TEXT // 4))
    window.close()
    assert path.stat().st_size < 3 * MAX_SAVED_TEXT  # not the whole text
    again = open_window(qtbot)
    assert len(again.inputs.text.toPlainText()) == MAX_SAVED_TEXT
    assert "were kept" in again.banner.text()
    again.close()


def test_an_oversized_settings_file_from_before_starts_fast(qtbot, tmp_path, monkeypatch):
    path = tmp_path / "settings.ini"
    path.write_text("[input]\ntext=" + "y" * 10_500_000 + "\n[model]\narch=encoder\n",
                    encoding="utf-8")
    monkeypatch.setenv(SETTINGS_ENV, str(path))
    t0 = time.perf_counter()
    window = MainWindow(arch=None, text=None)
    assert time.perf_counter() - t0 < 1.5  # reading the settings does not block
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.views_updated, timeout=TIMEOUT):
        window.start()
    assert window.session.arch == "encoder"  # the rest of the settings survived
    assert "left out" in window.banner.text()
    window.close()
