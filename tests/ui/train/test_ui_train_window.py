"""The Train tab inside the window: closing during a long step never blocks the GUI and
still saves; choosing another model while the views follow a run asks first."""

from __future__ import annotations

import time

import pytest

TIMEOUT = 30_000
STEP_S = 2.5  # one slow step, as a large batch on a laptop


@pytest.fixture
def window(training_window):
    return training_window()


def test_closing_during_a_slow_step_keeps_the_window_live_then_saves_and_closes(
        qtbot, window, monkeypatch):
    from explorer.train import loop, read_checkpoint_state

    real_step = loop.Trainer._train_step

    def slow_step(self, lr):
        if self.step >= 3:
            time.sleep(STEP_S)
        return real_step(self, lr)

    monkeypatch.setattr(loop.Trainer, "_train_step", slow_step)
    panel = window.panel("Train").view
    panel.snapshot_interval_s = 1e9
    panel.start()
    qtbot.waitUntil(lambda: panel.trainer is not None and panel.trainer.step >= 3,
                    timeout=TIMEOUT)
    t0 = time.perf_counter()
    window.close()
    blocked = time.perf_counter() - t0
    assert blocked < 1.0  # the GUI thread did not wait for the step
    assert window.isVisible() and "Closing" in panel.form.message.text()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=TIMEOUT)  # closes by itself
    state = read_checkpoint_state(panel.run_dir)
    assert state["step"] == panel.trainer.step >= 3


def test_choosing_another_architecture_during_training_asks(qtbot, window):
    panel = window.panel("Train").view
    tab = window.panel("Train")
    panel.snapshot_interval_s = 0.2
    with qtbot.waitSignal(window.model_loaded, timeout=TIMEOUT):  # the first snapshot
        panel.start()
    assert tab.following and window.session.loaded.source == "training"
    asked: list[str] = []
    panel.ask = lambda title, text: asked.append(text) or False  # keep the run
    window.toolbars.arch_box.setCurrentIndex(1)
    window.loading.set_architecture("encoder")
    assert asked and "Stop it" in asked[0]
    assert window.toolbars.arch_box.currentIndex() == 0 and panel.is_training()
    qtbot.wait(600)  # more snapshots arrive: still the run's decoder
    assert window.session.arch == "decoder"
    panel.ask = lambda title, text: True  # stop the run and switch
    with qtbot.waitSignal(panel.training_finished, timeout=TIMEOUT):
        window.loading.set_architecture("encoder")
    qtbot.waitUntil(lambda: window.session.arch == "encoder", timeout=TIMEOUT)
    qtbot.wait(800)  # the run's last snapshot must not bring the decoder back
    assert window.session.arch == "encoder"
    assert window.toolbars.arch_box.currentIndex() == 1
    assert (panel.run_dir / "checkpoint").is_dir()  # the stopped run was saved


def test_closing_while_the_data_is_prepared_never_freezes(qtbot, window, monkeypatch):
    """A large file still being read and tokenized: closing asks, then the window stays
    live and closes once the preparation has stopped (it checks the same stop request)."""
    import explorer.train.options as options_module  # the one builder of runs
    from explorer.train import StopRequested

    def slow_preparation(*args, control=None, **kwargs):
        while not control.stopped:  # as reading a 1 GB file would, checking the request
            time.sleep(0.05)
        raise StopRequested

    monkeypatch.setattr(options_module, "new_trainer", slow_preparation)
    panel = window.panel("Train").view
    panel.start()
    qtbot.wait(300)
    assert panel.is_training() and panel.trainer is None  # still preparing
    t0 = time.perf_counter()
    window.close()
    assert time.perf_counter() - t0 < 1.0
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=TIMEOUT)
    assert not panel.is_training()
