"""The Infer tab: generation step by step, the inspector following, fill-mask, classifier."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402

from explorer.state import bundled_models  # noqa: E402
from explorer.ui.window.main_window import MainWindow  # noqa: E402
from explorer.ui.window.settings import SETTINGS_ENV  # noqa: E402

TIMEOUT = 30_000
PROMPT = "the king sings ."


@pytest.fixture
def settings_file(tmp_path, monkeypatch):
    path = tmp_path / "settings.ini"
    monkeypatch.setenv(SETTINGS_ENV, str(path))
    return path


def open_window(qtbot, arch="decoder", text=PROMPT, model_dir=None):
    window = MainWindow(arch=arch, text=text, model_dir=model_dir)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.views_updated, timeout=TIMEOUT):
        window.start()
    qtbot.waitUntil(lambda: any(p.title == "Infer" for p in window.panels),
                    timeout=TIMEOUT)
    return window


@pytest.fixture
def decoder_window(qtbot, settings_file):
    window = open_window(qtbot)
    yield window
    window.close()


def click(qtbot, button):
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_decoder_step_is_greedy_and_the_inspector_follows(qtbot, decoder_window):
    window = decoder_window
    panel = window.panel("Infer").view
    gen = panel.generator
    assert panel.mode == "decoder" and "Algorithm 14" in panel.title.text()
    assert panel.current is gen and gen.isVisibleTo(panel)
    assert not panel.fill_mask.isVisibleTo(panel)
    assert gen.prompt.text() == PROMPT  # pre-filled from the window's text
    gen.tau.setValue(0.0)
    for _ in range(3):
        click(qtbot, gen.step_button)
    records = gen.generation.records
    assert len(records) == 3 and not gen.timer.isActive()
    model, tok = window.session.model, window.session.tokenizer
    x = list(gen.generation.prompt_ids)
    for r in records:
        with torch.no_grad():
            assert r.token == int(model(torch.tensor([x]))[0, -1].argmax())
        x.append(r.token)
    chosen = [row for row in gen.bars.rows if row[3]]
    assert len(chosen) == 1 and chosen[0][1] == pytest.approx(records[-1].q)
    assert len(gen.bars.rows) == min(10, tok.vocab_size)
    assert "Token 3" in gen.step_label.text()
    text = records[-1].text
    assert text.startswith(PROMPT) and len(text) > len(PROMPT)
    assert window.inputs.text.toPlainText() == text  # the inspector follows ...
    qtbot.waitUntil(lambda: window.session.text == text, timeout=TIMEOUT)  # ... every view
    html = gen.output.toHtml()
    assert "#dbe9f7" in html and "#ffd08a" in html  # generated and newest look different


def test_generate_animates_and_stop_stops(qtbot, decoder_window):
    gen = decoder_window.panel("Infer").view.generator
    gen.new_tokens.setValue(200)
    click(qtbot, gen.generate_button)
    assert gen.timer.isActive() and gen.timer.interval() >= 100
    assert not gen.generate_button.isEnabled() and gen.stop_button.isEnabled()
    assert len(gen.generation.records) == 0  # no token in the click itself: one per tick
    qtbot.waitUntil(lambda: len(gen.generation.records) >= 2, timeout=TIMEOUT)
    click(qtbot, gen.stop_button)
    n = len(gen.generation.records)
    qtbot.wait(3 * gen.timer.interval())
    assert len(gen.generation.records) == n and not gen.timer.isActive()
    assert gen.tau.isReadOnly()  # settings are fixed during a generation
    assert gen.generate_button.text().endswith("Continue")
    click(qtbot, gen.generate_button)
    qtbot.waitUntil(lambda: len(gen.generation.records) > n, timeout=TIMEOUT)
    click(qtbot, gen.reset_button)
    assert gen.generation is None and gen.bars.rows == [] and not gen.tau.isReadOnly()
    assert decoder_window.inputs.text.toPlainText() == PROMPT  # back to the prompt


def test_without_follow_the_window_text_stays(qtbot, decoder_window):
    gen = decoder_window.panel("Infer").view.generator
    gen.follow.setChecked(False)
    gen.prompt.setText("the wise girl")
    click(qtbot, gen.step_button)
    click(qtbot, gen.step_button)
    assert gen.generation.records[-1].text.startswith("the wise girl")
    assert decoder_window.inputs.text.toPlainText() == PROMPT


def test_an_empty_prompt_says_so(qtbot, decoder_window):
    panel = decoder_window.panel("Infer").view
    cfg = decoder_window.session.cfg
    if (cfg.extra or {}).get("task") != "next-token":
        pytest.skip("a model with bos starts from an empty prompt")
    panel.generator.prompt.setText("")
    click(qtbot, panel.generator.step_button)
    assert panel.message.isVisibleTo(panel) and "prompt is empty" in panel.message.text()
    assert panel.generator.generation is None
    panel.generator.prompt.setText(PROMPT)
    click(qtbot, panel.generator.step_button)
    assert not panel.message.isVisibleTo(panel)


def test_encoder_decoder_shows_growing_cross_attention(qtbot, settings_file):
    window = open_window(qtbot, "encoder-decoder", text="")
    panel = window.panel("Infer").view
    gen = panel.generator
    assert panel.mode == "encoder-decoder" and "Algorithm 15" in panel.title.text()
    assert not gen.prompt.isVisibleTo(panel) and gen.matrix_box.isVisibleTo(panel)
    assert "generated tokens (rows) over the context tokens (columns)" in \
        gen.matrix_title.text()
    context = window.inputs.context.toPlainText()
    gen.tau.setValue(0.0)
    n_dec = window.session.cfg.n_dec_layers or window.session.cfg.n_layers
    assert gen.layer_box.currentIndex() == n_dec - 1  # the last layer by default
    for i in range(3):
        click(qtbot, gen.step_button)
        assert gen.matrix.values.shape[0] == i + 1
    l_z = len(gen.generation.context_ids)
    assert gen.matrix.values.shape == (3, l_z) and len(gen.matrix.cols) == l_z
    assert gen.generation.source == context
    assert gen.matrix.values.sum(axis=1) == pytest.approx([1, 1, 1], abs=1e-5)
    gen.head_box.setCurrentIndex(2)  # head 2
    one = gen.generation.cross_attention(n_dec - 1, 1)
    assert np.allclose(gen.matrix.values, one)
    assert window.inputs.text.toPlainText() == gen.generation.records[-1].text
    gen.new_tokens.setValue(40)
    click(qtbot, gen.generate_button)
    qtbot.waitUntil(lambda: gen.generation.finished, timeout=TIMEOUT)
    assert not gen.timer.isActive()
    eos = window.session.tokenizer.special_ids["eos"]
    last = gen.generation.records[-1]
    assert last.token == eos or len(gen.generation.records) == gen.generation.limit
    window.close()


def test_the_tab_follows_the_architecture(qtbot, decoder_window):
    window = decoder_window
    panel = window.panel("Infer").view
    with qtbot.waitSignal(window.model_loaded, timeout=TIMEOUT):
        window.loading.set_architecture("encoder")
    assert panel.mode == "fill-mask" and panel.current is panel.fill_mask
    assert not panel.generator.isVisibleTo(panel)
    panel.fill_mask.text.setText("the king sin_s .")
    panel.fill_mask.fill()
    assert len(panel.fill_mask.bars) == 1
    rows = panel.fill_mask.bars[0].rows
    assert len(rows) == panel.fill_mask.k_spin.value()
    assert [r[1] for r in rows] == sorted((r[1] for r in rows), reverse=True)
    if "default-encoder" in bundled_models():
        assert rows[0][0] == "g" and panel.fill_mask.result.filled == "the king sings ."
        assert ">g</span>s ." in panel.fill_mask.filled.text()
    panel.fill_mask.text.setText("the king sings .")
    panel.fill_mask.fill()
    assert "no mask" in panel.message.text() and panel.message.isVisibleTo(panel)
    with qtbot.waitSignal(window.model_loaded, timeout=TIMEOUT):
        window.loading.set_architecture("encoder-decoder")
    assert panel.mode == "encoder-decoder" and panel.current is panel.generator
    assert panel.generator.generation is None and panel.generator.matrix_box.isVisibleTo(panel)
    assert not panel.message.isVisibleTo(panel)


def test_classifier_follows_the_typed_text(qtbot, settings_file):
    folder = bundled_models().get("default-classifier")
    if folder is None:
        pytest.skip("no bundled classifier")
    window = open_window(qtbot, text="the film is wonderful .", model_dir=str(folder))
    panel = window.panel("Infer").view
    assert panel.mode == "classify" and panel.current is panel.classifier
    probs = dict(panel.classifier.probabilities)
    assert list(probs) == window.session.cfg.extra["labels"]
    assert sum(probs.values()) == pytest.approx(1.0, abs=1e-5)
    assert probs["positive"] > 0.5
    assert [r[0] for r in panel.classifier.bars.rows] == list(probs)
    window.inputs.text.setPlainText("the cake is awful .")
    qtbot.waitUntil(lambda: dict(panel.classifier.probabilities)["negative"] > 0.5,
                    timeout=TIMEOUT)
    window.inputs.text.setPlainText("the film . " * 40)
    qtbot.waitUntil(lambda: "ℓ_max" in panel.message.text(), timeout=TIMEOUT)
    window.close()


def test_closing_stops_the_timers(qtbot, settings_file):
    window = open_window(qtbot)
    gen = window.panel("Infer").view.generator
    click(qtbot, gen.generate_button)
    assert gen.timer.isActive()
    assert window.panel("Infer") in window.panels
    window.close()
    assert not gen.timer.isActive()
