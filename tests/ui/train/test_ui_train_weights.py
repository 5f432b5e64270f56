"""Training in the Train tab follows the weights and forgets nothing: an ablation stays
listed and applied, the step, head, text B, the compare mode and the Lens tab's choices
stay; a running sweep is marked as on earlier weights (with Re-run), not cancelled; a new
model removes what no longer fits and says so."""

from __future__ import annotations

import threading
import time

import pytest
import torch

from explorer.analysis import AblateHead, record_intervened
from tests.snapshots import trained
from tests.ui.conftest import WINDOW_TIMEOUT

TIMEOUT = 30_000


def settled(window) -> bool:
    """The session shows a trace of the current weights, inputs and interventions."""
    s = window.session
    request = s.request()
    return (s.trace is not None and window.tracing.runner.idle() and s.compare.request() is None
            and request is not None and request.generation == s.generation
            and s.trace.interventions == s.active_interventions)


@pytest.fixture
def window(training_window):
    return training_window()


def test_training_keeps_the_ablation_the_selection_text_b_and_the_lens(qtbot, window):
    panel = window.panel("Train").view
    panel.snapshot_interval_s = 0.2
    with qtbot.waitSignal(window.model_loaded, timeout=TIMEOUT):  # the run's model
        panel.start()
    s = window.session
    assert s.loaded.source == "training" and s.cfg.n_heads == 2
    replaced, weights = [], []
    window.model_loaded.connect(replaced.append)
    window.weights_loaded.connect(weights.append)
    window.menus.compare_action.trigger()
    qtbot.keyClicks(window.inputs.compare, "the queen sings .")
    ablation = AblateHead(0, 1)
    assert s.add_intervention(ablation)
    qtbot.waitUntil(lambda: s.compare.ready and bool(s.trace.interventions), timeout=TIMEOUT)
    assert s.select_name("blocks.0.attn.pattern")
    s.select_head(1)
    attention = window.panel("Attention").view
    window.show_tab("Attention")
    attention.set_mode("A − B")
    window.show_tab("Lens")
    lens = window.panel("Lens").view
    lens.views.setCurrentIndex(1)  # the attribution
    lens.position_box.setValue(1)
    qtbot.waitUntil(lambda: len(weights) >= 3, timeout=TIMEOUT)  # several snapshots
    with qtbot.waitSignal(panel.training_finished, timeout=TIMEOUT):
        panel.stop()
    qtbot.waitUntil(lambda: settled(window), timeout=TIMEOUT)
    assert not replaced  # never a new model while the run trained the one shown
    assert all(label.startswith("training: step") for label in weights)
    # the ablation is still listed and applied to the latest weights
    dock = window.panel("Interventions").view
    assert s.interventions == (ablation,)
    assert dock.list.count() == 1 and dock.list.item(0).text() == \
        "Layer 1 · head 2: zero-ablated"
    assert s.trace.interventions == (ablation,)
    x = torch.tensor([s.request().x])
    expected, _ = record_intervened(s.model, x, interventions=[ablation])
    assert torch.allclose(s.logits, expected)
    head_out = s.trace["blocks.0.attn.head_out"][0]
    assert float(head_out[1].abs().max()) == 0.0 and float(head_out[0].abs().max()) > 0
    assert not torch.equal(s.logits, s.clean_logits)
    # the selection, text B, the compare mode and the Lens tab's choices stay
    assert s.step.name == "blocks.0.attn.pattern" and s.head == 1
    assert s.compare.text == "the queen sings ." and s.compare.ready
    assert window.inputs.compare_text() == "the queen sings ."
    assert attention.mode == "A − B"
    assert lens.views.currentIndex() == 1 and lens.position_box.value() == 1
    assert not window.banner.isVisible() or "removed" not in window.banner.text()


def test_a_sweep_on_earlier_weights_is_marked_stale_and_runs_again(qtbot, open_window,
                                                                   monkeypatch):
    from explorer import analysis

    window = open_window(text="the king sings .")
    s = window.session
    dock = window.panel("Interventions")
    v = dock.view
    gate = threading.Event()
    real = analysis.head_importance

    def slow(*args, cancelled, **kwargs):  # a sweep that runs until the test lets it end
        while not gate.is_set() and not cancelled():
            time.sleep(0.01)
        return real(*args, cancelled=cancelled, **kwargs)

    monkeypatch.setattr(analysis, "head_importance", slow)
    first = s.model
    assert dock.run_importance()
    assert v.stale_label.isHidden() and v.rerun_button.isHidden()
    window.show_weights(trained(s.loaded, 5), 5)
    qtbot.waitUntil(lambda: settled(window) and s.model is not first, timeout=WINDOW_TIMEOUT)
    assert dock.running()  # not cancelled
    assert "Running on earlier weights" in v.stale_label.text()
    assert "now step 5" in v.stale_label.text()
    assert not v.stale_label.isHidden() and not v.rerun_button.isHidden()
    v.rerun_button.click()  # the stale run stops, a new one starts on the current weights
    assert dock.running() and v.stale_label.isHidden() and v.rerun_button.isHidden()
    gate.set()
    qtbot.waitUntil(lambda: not dock.running(), timeout=WINDOW_TIMEOUT)
    assert dock.sweep.model is s.model and v.stale_label.isHidden()
    assert not v.heatmap.isHidden()
    # a finished sweep is marked as well, and Re-run brings it up to date
    window.show_weights(trained(s.loaded, 6), 6)
    qtbot.waitUntil(lambda: settled(window), timeout=WINDOW_TIMEOUT)
    assert "Computed on earlier weights (step 5)" in v.stale_label.text()
    assert "now step 6" in v.stale_label.text() and not v.rerun_button.isHidden()
    assert not v.heatmap.isHidden()  # still shown, marked
    v.rerun_button.click()
    qtbot.waitUntil(lambda: not dock.running(), timeout=WINDOW_TIMEOUT)
    assert dock.sweep.model is s.model and dock.sweep.step == 6
    assert v.stale_label.isHidden() and v.rerun_button.isHidden()


def test_another_architecture_removes_the_interventions_and_says_so(qtbot, open_window):
    window = open_window(text="the king sings .")
    s = window.session
    dock = window.panel("Interventions")
    assert s.add_intervention(AblateHead(1, 2))
    qtbot.waitUntil(lambda: settled(window), timeout=WINDOW_TIMEOUT)
    assert dock.run_importance()
    qtbot.waitUntil(lambda: not dock.running(), timeout=WINDOW_TIMEOUT)
    assert not dock.view.heatmap.isHidden()
    with qtbot.waitSignal(window.model_loaded, timeout=WINDOW_TIMEOUT):
        window.loading.set_architecture("encoder")
    qtbot.waitUntil(lambda: settled(window), timeout=WINDOW_TIMEOUT)
    assert s.arch == "encoder" and s.interventions == ()
    assert dock.view.list.count() == 0 and dock.view.heatmap.isHidden()
    assert "New model: 1 intervention removed" in window.banner.text()
    assert window.banner.isVisible()
