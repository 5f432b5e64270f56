"""File ▸ Open model: "Open folder…" and the Hugging Face models already in the cache,
greyed with the reason when we cannot map them; choosing one opens it."""

from __future__ import annotations

from hf_cache_folders import make_hub_cache
from PySide6.QtGui import QKeySequence

from explorer.ui.window.open_menu import FOLDER_TEXT, MENU_TITLE

TIMEOUT = 30_000


def _open_menu(window):
    file_menu = next(a.menu() for a in window.menuBar().actions()
                     if a.menu() is not None and a.text().replace("&", "") == "File")
    return next(a.menu() for a in file_menu.actions()
                if a.menu() is not None and a.text() == MENU_TITLE)


def _shown(menu) -> list:
    menu.aboutToShow.emit()  # what opening the menu does
    return [a for a in menu.actions() if not a.isSeparator()]


def test_file_open_lists_the_cached_models_and_opens_one(qtbot, open_window, tmp_path,
                                                          monkeypatch):
    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    window = open_window()
    menu = _open_menu(window)
    folder, header = _shown(menu)
    assert folder.text() == FOLDER_TEXT and folder.isEnabled()
    assert folder.shortcut() == QKeySequence(QKeySequence.StandardKey.Open)
    assert header.text().startswith("No models in the Hugging Face cache")
    assert not header.isEnabled()

    snapshots = make_hub_cache(cache)
    folder, header, *entries = _shown(menu)  # read again each time the menu opens
    assert header.text().startswith("In the Hugging Face cache")
    by_text = {a.text(): a for a in entries}
    assert list(by_text) == [
        "distilgpt2 (GPT-2, 4.37 k)",
        "google/t5-small — model_type 't5' is not supported",
        "openai-community/gpt2 (GPT-2, 4.37 k)",
        "someone/config-only — no weights downloaded",
        "someone/no-tokenizer — no tokenizer downloaded",
    ]
    enabled = {a.text().split(" ")[0]: a.isEnabled() for a in entries}
    assert enabled == {"distilgpt2": True, "google/t5-small": False,
                       "openai-community/gpt2": True, "someone/config-only": False,
                       "someone/no-tokenizer": False}
    t5 = by_text["google/t5-small — model_type 't5' is not supported"]
    assert "supported: " in t5.toolTip() and t5.statusTip() == t5.toolTip()

    gpt2 = by_text["openai-community/gpt2 (GPT-2, 4.37 k)"]
    assert gpt2.data() == str(snapshots["openai-community/gpt2"])
    with qtbot.waitSignal(window.model_loaded, timeout=TIMEOUT):
        gpt2.trigger()
    qtbot.waitUntil(lambda: "openai-community/gpt2" in
                    (window.toolbars.model_label.property("full_text") or ""), timeout=TIMEOUT)
    assert window.session.cfg.vocab_size == 50
