"""Output distribution: ranked top-k bars of softmax(logits / τ), the temperature slider."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from explorer.core import ModelConfig, build_model  # noqa: E402
from explorer.trace import record  # noqa: E402
from explorer.ui.output.view import (  # noqa: E402
    OutputDistributionWidget,
    slider_to_tau,
    tau_to_slider,
)

VOCAB = ["<pad>", " the", " cat", " sat", " on", " mat", ".", "\n", " dog", " a", " ran",
         " to", " park", " happy", " it", " was", "The", " and", "\t", " "]
POSITIONS = ["The", " cat", " sat", " on", " the", " mat"]


@pytest.fixture(scope="module")
def logits() -> torch.Tensor:
    torch.manual_seed(0)
    cfg = ModelConfig(arch="decoder", vocab_size=len(VOCAB), l_max=16, d_e=16, n_heads=2,
                      n_layers=2)
    model = build_model(cfg).eval()
    with torch.no_grad():
        model.unembed.W_u.weight.mul_(40)  # spread the logits as a trained model would
        out, trace = record(model, torch.randint(0, len(VOCAB), (1, len(POSITIONS))))
    assert torch.equal(out, trace["logits"])
    return out[0]


@pytest.fixture
def view(qtbot, logits) -> OutputDistributionWidget:
    widget = OutputDistributionWidget()
    qtbot.addWidget(widget)
    widget.resize(700, 620)
    widget.show()
    widget.set_logits(logits, VOCAB, POSITIONS)
    return widget


def test_tau_one_is_softmax_of_the_logits_at_the_last_position(view, logits) -> None:
    assert view.position == len(POSITIONS) - 1  # default: the last column of P
    assert view.temperature == 1.0
    expected = torch.softmax(logits[-1].double(), dim=-1).numpy()
    np.testing.assert_allclose(view.distribution(), expected, rtol=1e-9, atol=1e-12)
    entropy = -(expected * np.log2(expected)).sum()
    assert view.entropy_bits == pytest.approx(entropy)
    assert f"{entropy:.2f} bits" in view.entropy_label.text()


def test_bars_are_ranked_top_k_with_whitespace_visible(view, logits) -> None:
    rows = view.shown()
    assert len(rows) == 10
    q = view.distribution()
    assert [r[2] for r in rows] == sorted((r[2] for r in rows), reverse=True)
    assert [r[0] for r in rows] == list(np.argsort(-q, kind="stable")[:10])
    assert [r[1] for r in rows] == [VOCAB[r[0]] for r in rows]
    view.top_k = 3
    assert [r[0] for r in view.shown()] == [r[0] for r in rows[:3]]
    assert view.bars._label(0, (2, " cat", 0.5, 0.5)) == "1.  ␣cat"
    assert view.position_box.itemText(1) == "t = 2 · ␣cat"


def test_small_tau_approaches_greedy_and_large_tau_flattens(qtbot, view, logits) -> None:
    entropies = []
    for tau in (5.0, 1.0, 0.3, 0.05, 0.0):
        view.temperature = tau
        entropies.append(view.entropy_bits)
    assert entropies == sorted(entropies, reverse=True) and entropies[-1] == 0.0
    greedy = view.distribution()
    assert greedy.max() == 1.0 and int(greedy.argmax()) == int(logits[-1].argmax())
    assert view.tau_label.text() == "τ → 0 (greedy)"
    view.temperature = 0.05
    assert view.distribution().max() > 0.99  # nearly one-hot already
    # q ∝ p^(1/τ)
    view.temperature = 0.5
    p = torch.softmax(logits[-1].double(), dim=-1).numpy()
    np.testing.assert_allclose(view.distribution(), p ** 2 / (p ** 2).sum(), rtol=1e-9)
    assert view.shown()[0][3] == pytest.approx(p.max())  # the dashed outline: p itself


def test_slider_is_log_scaled_with_greedy_at_the_left_and_emits(qtbot, view) -> None:
    assert slider_to_tau(0) == 0.0
    assert slider_to_tau(1) == pytest.approx(0.05) and slider_to_tau(1000) == pytest.approx(5)
    assert slider_to_tau(tau_to_slider(1.0)) == pytest.approx(1.0, rel=0.01)
    with qtbot.waitSignal(view.temperature_changed, timeout=1000) as blocker:
        view.tau_slider.setValue(0)
    assert blocker.args == [0.0] and view.temperature == 0.0
    with qtbot.waitSignal(view.temperature_changed, timeout=1000) as blocker:
        view.tau_reset.click()
    assert blocker.args == [1.0] and view.temperature == 1.0
    view.temperature = 100.0
    assert view.temperature == 5.0  # clipped to the slider's range
    with pytest.raises(ValueError, match="temperature"):
        view.temperature = -1.0


def test_position_selector_and_new_logits(qtbot, view, logits) -> None:
    with qtbot.waitSignal(view.position_changed, timeout=1000):
        view.set_position(0)
    expected = torch.softmax(logits[0].double(), dim=-1).numpy()
    np.testing.assert_allclose(view.distribution(), expected, rtol=1e-9)
    view.set_logits(logits[:4].numpy(), VOCAB, POSITIONS[:4])
    assert view.position == 0  # a chosen position is kept while it exists
    view.set_position(-1)
    view.set_logits(logits.numpy()[None], VOCAB, POSITIONS)  # batch of 1 dropped
    assert view.position == len(POSITIONS) - 1  # the last one is followed as text grows
    with pytest.raises(ValueError, match="logits"):
        view.set_logits(np.zeros((2, 3, 4)), VOCAB, POSITIONS)
    view.set_logits(np.zeros((0, len(VOCAB))), VOCAB, [])
    assert view.shown() == [] and "nothing to predict" in view.bars.message


def test_grab_png(view, tmp_path: Path) -> None:
    view.temperature = 2.0
    path = tmp_path / "views_output.png"
    assert view.grab().save(str(path)) and path.stat().st_size > 5000


def test_tiny_probabilities_read_as_percentages_not_exponents():
    from explorer.ui.widgets.style import percent

    assert percent(0.5) == "50.0\u00a0%" and percent(0.0) == "0.0\u00a0%"
    assert percent(0.0005) == "0.05\u00a0%"
    assert percent(2.5e-8) == "<\u00a00.01\u00a0%"
    assert "e-" not in "".join(percent(10.0 ** -k) for k in range(1, 12))
