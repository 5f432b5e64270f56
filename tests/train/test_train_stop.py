"""A stop request ends a run at once: a running step is abandoned, data preparation stops."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import torch

from explorer.train import (
    DataSource,
    TrainConfig,
    TrainControl,
    new_trainer,
    resume_trainer,
    save_checkpoint,
)
from explorer.train.control import StopRequested


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.txt"
    path.write_text("the cat sat on the mat. a dog ran to the park.\n" * 150, encoding="utf-8")
    return path


def tiny(corpus: Path, steps: int = 8):
    cfg = TrainConfig(task="next-token", steps=steps, batch_size=8, lr=3e-3, val_every=4,
                      device="cpu")
    return new_trainer(corpus, cfg, "char", l_max=32, d_e=32, n_heads=2, n_layers=2)


def weights(trainer) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}


@pytest.mark.parametrize("where", ["forward", "backward"])
def test_a_stop_during_a_step_abandons_it_and_keeps_the_last_completed_one(
        corpus, tmp_path, where) -> None:
    """stop() from inside step 3 (as another thread would): the loop ends before the step
    completes, with the weights, optimiser and random generators of step 2; resuming from
    a save then gives exactly the losses of an uninterrupted run."""
    straight = [r.loss for r in tiny(corpus).steps()]
    trainer = tiny(corpus)
    control = TrainControl()
    after_two: dict[str, torch.Tensor] = {}
    calls = {"n": 0}

    def stop_in_step_three(*_args) -> None:
        if trainer.step == 2:
            calls["n"] += 1
            if not after_two:
                after_two.update(weights(trainer))
            control.stop()

    if where == "forward":
        trainer.model.stack.blocks[0].register_forward_hook(stop_in_step_three)
    else:
        first = next(p for p in trainer.model.parameters() if p.requires_grad)
        first.register_hook(lambda grad: stop_in_step_three())
    results = list(trainer.steps(control))
    assert [r.step for r in results] == [1, 2]
    assert trainer.step == 2 and calls["n"] == 1  # abandoned at the first check after stop
    assert all(torch.equal(after_two[k], v) for k, v in weights(trainer).items())
    assert all(p.grad is None for p in trainer.model.parameters())
    save_checkpoint(trainer, tmp_path / "run")
    rest = [r.loss for r in resume_trainer(tmp_path / "run").steps()]
    assert rest == straight[2:]  # the abandoned step left no trace


def test_a_stop_from_another_thread_ends_a_long_step_promptly(corpus) -> None:
    """A step that takes many seconds (a big batch) ends within a fraction of it."""
    cfg = TrainConfig(task="next-token", steps=5, batch_size=8, lr=3e-3, val_every=0,
                      device="cpu")
    trainer = new_trainer(corpus, cfg, "char", l_max=32, d_e=32, n_heads=2, n_layers=24)
    control = TrainControl()
    entered = threading.Event()
    trainer.model.stack.blocks[0].register_forward_pre_hook(lambda *a: entered.set())
    slow = threading.Event()

    def crawl(*_args) -> None:  # every layer waits: one step would take 24 × 1 s
        slow.wait(1.0)

    for block in trainer.model.stack.blocks:
        block.register_forward_hook(crawl)
    done = threading.Event()
    thread = threading.Thread(target=lambda: (list(trainer.steps(control)), done.set()))
    thread.start()
    assert entered.wait(30)
    control.stop()
    assert done.wait(8.0), "the step was not abandoned"
    thread.join()
    assert trainer.step == 0


def test_data_preparation_stops_on_request(corpus, monkeypatch) -> None:
    """Tokenizing a large text checks the stop flag between pieces."""
    from explorer.tokenize import stream

    monkeypatch.setattr(stream, "CHUNK_CHARS", 200)
    checks = {"n": 0}

    class CountingControl(TrainControl):
        def check(self) -> None:
            checks["n"] += 1
            if checks["n"] == 10:
                self.stop()
            super().check()

    source = DataSource("next-token", "big", text="the cat sat on the mat.\n" * 2000)
    cfg = TrainConfig(task="next-token", steps=5, batch_size=4, device="cpu")
    with pytest.raises(StopRequested):
        new_trainer(source, cfg, "char", l_max=16, d_e=16, n_heads=2, n_layers=1,
                    control=CountingControl())
    assert checks["n"] == 10  # stopped in the middle of the tokenization


def test_a_stop_before_preparation_raises_before_any_work(corpus) -> None:
    control = TrainControl()
    control.stop()
    cfg = TrainConfig(task="next-token", steps=5, batch_size=4, device="cpu")
    with pytest.raises(StopRequested):
        new_trainer(corpus, cfg, "char", l_max=16, control=control)


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_training_the_tokenizer_stops_on_request(kind) -> None:
    checks = {"n": 0}

    class CountingControl(TrainControl):
        def check(self) -> None:
            checks["n"] += 1
            if checks["n"] == 4:  # the second check inside the tokenizer's training
                self.stop()
            super().check()

    text = "".join(f"line {i} of the cat and the mat\n" for i in range(20000))
    source = DataSource("next-token", "big", text=text)
    cfg = TrainConfig(task="next-token", steps=5, batch_size=4, device="cpu")
    with pytest.raises(StopRequested):
        new_trainer(source, cfg, kind, vocab_size=300 if kind == "bpe" else None, l_max=16,
                    control=CountingControl())
    assert checks["n"] == 4


def test_the_model_can_be_used_between_steps_after_a_stop(corpus) -> None:
    """A sample taken between two steps (as the window does) after stop() runs normally:
    only the step itself is abandoned."""
    from explorer.train import take_snapshot

    trainer = tiny(corpus)
    control = TrainControl()
    it = trainer.steps(control)
    next(it)
    control.stop()
    assert take_snapshot(trainer, seed=1).step == 1  # no StopRequested from the hooks
    assert list(it) == [] and trainer.step == 1


def test_a_snapshot_copy_is_never_interrupted(corpus) -> None:
    """A copy of the model taken between steps (it carries the hooks along) runs on
    another thread while the trainer's step is being stopped: it never raises."""
    from explorer.train import take_snapshot

    trainer = tiny(corpus)
    control = TrainControl()
    it = trainer.steps(control)
    next(it)
    copy = take_snapshot(trainer, with_sample=False).model
    control.stop()
    trainer._armed = True  # as during a step on the training thread
    try:
        copy(torch.tensor([[1, 2, 3]]))
        errors = []
        thread = threading.Thread(target=lambda: errors.append(trainer.model.eval()(
            torch.tensor([[1, 2, 3]])).shape))
        thread.start()
        thread.join()
        assert errors and errors[0] == (1, 3, trainer.model.cfg.vocab_size)
    finally:
        trainer._armed = False
    it.close()
