"""The "Tokenizer" tab: the vocabulary table with counts and search, the BPE replay one
merge per key press, WordPiece and Unigram steps, opening a tokenizer.json, training on
a text file off the GUI thread, and a clear message for a bad file."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import threading  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402

from explorer.tokenize import train_tokenizer  # noqa: E402
from explorer.tokenize.inside import bpe_replay  # noqa: E402
from explorer.ui.tokens.lab import TokenizerLab, TokenizerTab  # noqa: E402

GPT2 = Path(__file__).parents[2] / "fixtures" / "tokenize" / "gpt2_tokenizer.json"
CORPUS = ["the old wizard sees a red apple .", "two dogs chase the cat ."] * 30
TOKS = {k: train_tokenizer(k, CORPUS, 300) for k in ("char", "word", "bpe", "wordpiece",
                                                     "unigram")}


def _lab(qtbot, kind="bpe") -> TokenizerLab:
    lab = TokenizerLab()
    qtbot.addWidget(lab)
    lab.resize(1300, 800)
    lab.follow_model(TOKS[kind])
    return lab


def _count_of(lab, piece):
    rows = [r for r in lab.vocab.model.rows if r[1] == piece]
    return rows[0][3]


def test_typing_text_updates_the_counts(qtbot):
    lab = _lab(qtbot, "word")
    assert _count_of(lab, "the") == 0
    lab.set_text("the cat and the dog")
    assert _count_of(lab, "the") == 2
    assert _count_of(lab, "cat") == 1
    assert _count_of(lab, "<unk>") == 2  # "and", "dog"
    lab.set_text("the")
    assert _count_of(lab, "the") == 1 and _count_of(lab, "cat") == 0


def test_a_long_text_is_counted_on_its_first_characters(qtbot):
    from explorer.ui.tokens.lab import SYNC_CHARS

    lab = _lab(qtbot, "word")
    lab.set_text("the cat " * SYNC_CHARS)
    assert _count_of(lab, "the") == SYNC_CHARS // 8
    assert f"first {SYNC_CHARS:,} characters" in lab.message_text()


def test_the_tab_follows_the_windows_tokenizer_and_text(qtbot):
    class Host:
        session = type("S", (), {"tokenizer": TOKS["word"]})()
        text = "the cat"

        def input_texts(self):
            return self.text, ""

    tab = TokenizerTab()
    qtbot.addWidget(tab.widget)
    host = Host()
    tab.attach(host)
    tab.model_changed(host.session)
    assert tab.view.tokenizer() is TOKS["word"]
    assert _count_of(tab.view, "cat") == 1
    host.text = "the cat the cat"
    tab.text_edited()  # hidden: the text is read when the tab is shown (refresh)
    qtbot.wait(400)
    assert _count_of(tab.view, "cat") == 1
    tab.widget.show()
    tab.text_edited()
    qtbot.waitUntil(lambda: _count_of(tab.view, "cat") == 2, timeout=3000)
    host.session.tokenizer = TOKS["bpe"]
    tab.model_changed(host.session)
    assert tab.view.tokenizer() is TOKS["bpe"]
    tab.shutdown()


def test_search_filters_the_table_and_names_the_specials(qtbot):
    lab = _lab(qtbot, "word")
    everything = lab.vocab.model.rowCount()
    assert everything == TOKS["word"].vocab_size
    lab.vocab.search.setText("wiz")
    lab.vocab.apply_filter()
    assert [r[1] for r in lab.vocab.model.shown_rows()] == ["wizard"]
    lab.vocab.search.setText("special")
    lab.vocab.apply_filter()
    specials = lab.vocab.model.shown_rows()
    assert {r[2] for r in specials} == set(TOKS["word"].special_ids)
    bos = TOKS["word"].special_ids["bos"]
    assert f"<b>bos</b> = {bos}" in lab.vocab.summary.text()
    lab.vocab.search.setText(str(bos))
    lab.vocab.apply_filter()
    assert [r[0] for r in lab.vocab.model.shown_rows()] == [bos]
    lab.vocab.search.setText("")
    lab.set_text("the cat")
    lab.vocab.used_box.setChecked(True)
    assert sorted(r[1] for r in lab.vocab.model.shown_rows()) == ["cat", "the"]


def test_bpe_replay_advances_one_merge_per_key_press(qtbot):
    lab = _lab(qtbot, "bpe")
    lab.set_text("a wizard sees")
    lab.inside.select_word_at(4)  # inside "wizard"
    assert lab.inside.word().text == "Ġwizard"
    steps = bpe_replay(TOKS["bpe"], "Ġwizard")
    assert len(steps) > 2
    stepper = lab.inside.stepper
    stepper.setFocus()
    assert stepper.stages[0].pieces == steps[0].pieces and stepper.index == 0
    for k in range(1, len(steps)):
        qtbot.keyClick(stepper, Qt.Key.Key_Right)
        assert stepper.index == k
        assert stepper.stages[k].pieces == steps[k].pieces
        assert f"rank <b>{steps[k].rank:,}</b>" in stepper.text()
        assert lab.inside.detail.highlight == {steps[k].rank}  # the merge list marks it
    qtbot.keyClick(stepper, Qt.Key.Key_Right)  # at the end: stays
    assert stepper.index == len(steps) - 1
    assert list(steps[-1].pieces) == TOKS["bpe"].encode(" wizard").tokens
    qtbot.keyClick(stepper, Qt.Key.Key_Left)
    assert stepper.index == len(steps) - 2
    qtbot.keyClick(stepper, Qt.Key.Key_Home)
    assert stepper.index == 0
    assert lab.inside.detail.rowCount() == len(TOKS["bpe"].merges())


def test_the_replay_keys_win_over_the_windows_shortcuts(qtbot):
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QMainWindow

    window = QMainWindow()
    qtbot.addWidget(window)
    lab = TokenizerLab()
    window.setCentralWidget(lab)
    lab.follow_model(TOKS["bpe"])
    lab.set_text("a wizard")
    lab.inside.select_word_at(4)
    fired = []
    action = QAction("Next step", window)
    action.setShortcut(Qt.Key.Key_Right)
    action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    action.triggered.connect(lambda: fired.append(1))
    window.addAction(action)
    window.show()
    qtbot.waitExposed(window)
    stepper = lab.inside.stepper
    stepper.setFocus()
    qtbot.waitUntil(stepper.hasFocus, timeout=2000)
    qtbot.keyClick(stepper, Qt.Key.Key_Right)
    assert stepper.index == 1 and fired == []
    lab.title.setFocus()  # elsewhere the window's shortcut still works
    qtbot.keyClick(lab.title, Qt.Key.Key_Right)
    assert fired == [1]


def test_wordpiece_and_unigram_show_their_steps(qtbot):
    lab = _lab(qtbot, "wordpiece")
    lab.set_text("wizards")
    stages = lab.inside.stepper.stages
    assert list(stages[-1].pieces) == TOKS["wordpiece"].encode("wizards").tokens
    assert any("longest match" in r[2] for r in lab.inside.detail.rows)
    stepper = lab.inside.stepper
    stepper.step(1)  # the first piece: its row in the candidates is marked
    (row,) = lab.inside.detail.highlight
    assert lab.inside.detail.rows[row][1] == stepper.stages[1].pieces[0]
    continuations = sum(1 for p in TOKS["wordpiece"].hf.get_vocab() if p.startswith("##"))
    assert continuations > 0
    assert f"{continuations:,} of the" in lab.inside.explain.text()
    lab.vocab.search.setText("##")
    lab.vocab.apply_filter()
    assert lab.vocab.model.rowCount() == continuations
    lab.follow_model(TOKS["unigram"])
    lab.set_text("the wizard")
    lab.inside.select_word_at(6)
    stepper = lab.inside.stepper
    assert list(stepper.stages[0].pieces) == TOKS["unigram"].encode(" wizard").tokens
    assert "log P =" in stepper.text()
    for kind in ("char", "word"):
        lab.follow_model(TOKS[kind])
        assert "nothing to replay" in lab.inside.explain.text()


def test_open_a_gpt2_tokenizer_json(qtbot):
    lab = _lab(qtbot, "word")
    lab.set_text("Hello world<|endoftext|>")
    lab.open_file(GPT2)
    qtbot.waitUntil(lambda: not lab.is_busy(), timeout=10000)
    tok = lab.tokenizer()
    assert tok is not TOKS["word"] and tok.kind == "bpe"
    assert lab.vocab.model.rowCount() == tok.vocab_size
    assert "<b>bos/eos</b>" in lab.vocab.summary.text()
    assert lab.inside.detail.rowCount() == len(tok.merges())
    assert lab.model_button.isVisibleTo(lab)
    lab.model_button.click()
    assert lab.tokenizer() is TOKS["word"]


def test_train_on_a_file_off_the_gui_thread(qtbot, tmp_path, monkeypatch):
    import explorer.ui.tokens.lab as lab_module

    seen = []
    real = lab_module.train_tokenizer

    def spy(*args, **kwargs):
        seen.append(threading.current_thread() is threading.main_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(lab_module, "train_tokenizer", spy)
    path = tmp_path / "story.txt"
    path.write_text("\n".join(CORPUS + ["unbelievable tokenization"]), encoding="utf-8")
    lab = _lab(qtbot, "word")
    messages = []
    lab.message.setText = lambda t, f=lab.message.setText: (messages.append(t), f(t))[1]
    lab.train_file(path, "unigram", 120)
    assert lab.is_busy() and lab.progress.isVisibleTo(lab)
    qtbot.waitUntil(lambda: not lab.is_busy(), timeout=30000)
    assert seen == [False]
    tok = lab.tokenizer()
    assert tok.kind == "unigram" and "story.txt" in tok.name
    assert any("Training a Unigram" in m for m in messages)
    assert not lab.progress.isVisibleTo(lab)


@pytest.mark.parametrize(
    ("make", "action", "message"),
    [
        (lambda p: p.write_bytes(b"\x89PNG\r\n\x00\x00binary"), "train", "binary"),
        (lambda p: p.write_text(""), "train", "is empty"),
        (lambda p: None, "train", "no such file"),
        (lambda p: None, "open", "no such tokenizer file"),
        (lambda p: p.write_bytes(b"\x89PNG\r\n\x00\x00binary\xff"), "open", "not a valid"),
        (lambda p: p.write_text('{"a": 1}'), "open", "not a tokenizer.json"),
    ],
)
def test_a_bad_file_gives_a_message_in_the_tab(qtbot, tmp_path, make, action, message):
    lab = _lab(qtbot, "bpe")
    path = tmp_path / "bad.txt"
    make(path)
    if action == "train":
        lab.train_file(path, "bpe", 500)
    else:
        lab.open_file(path)
    qtbot.waitUntil(lambda: not lab.is_busy(), timeout=10000)
    text = lab.message_text()
    assert message in text and "Traceback" not in text and "\n" not in text
    assert lab.tokenizer() is TOKS["bpe"]  # the tokenizer shown stays
