"""The loop: it learns, it pauses/resumes/stops between steps, it catches NaN and OOM."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import torch

from explorer.train import (
    OutOfMemory,
    TrainConfig,
    TrainControl,
    TrainingDiverged,
    new_trainer,
    sample_text,
)
from explorer.train import loop as loop_module
from explorer.train.devices import autocast, is_out_of_memory, resolve_device

SENTENCES = ["the cat sat on the mat.", "a dog ran to the park.", "the bird sang a song."]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(SENTENCES * 120), encoding="utf-8")
    return path


def tiny(corpus: Path, task: str = "next-token", steps: int = 60, **kw) -> loop_module.Trainer:
    options = {"batch_size": 8, "lr": 3e-3, "val_every": 20, "device": "cpu", **kw}
    cfg = TrainConfig(task=task, steps=steps, **options)
    return new_trainer(corpus, cfg, "char", l_max=32, d_e=32, n_heads=2, n_layers=1)


def test_a_tiny_run_reduces_validation_loss(corpus: Path) -> None:
    trainer = tiny(corpus)
    results = list(trainer.steps())
    assert [r.step for r in results] == list(range(1, 61))
    vals = [r.val_loss for r in results if r.val_loss is not None]
    assert len(vals) == 3
    assert vals[-1] < 0.75 * vals[0]
    last = results[-1]
    assert last.tokens == 60 * 8 * 32 and last.tokens_per_s > 0 and last.eta_s == 0
    assert trainer.history.val_step == [20, 40, 60]
    assert "▸" in sample_text(trainer)


@pytest.mark.parametrize("task", ["masked", "seq2seq", "classify"])
def test_every_task_trains(tmp_path: Path, task: str) -> None:
    if task == "masked":
        text = "\n".join(SENTENCES * 60)
    elif task == "seq2seq":
        text = "\n".join(f"{w}\t{w[::-1]}" for w in ["abc", "bca", "cab", "abd", "dba"] * 8)
    else:
        text = "\n".join(f"{'pos' if 'cat' in s else 'neg'}\t{s}" for s in SENTENCES * 8)
    path = tmp_path / "data.txt"
    path.write_text(text, encoding="utf-8")
    trainer = tiny(path, task=task, steps=20, val_every=10)
    results = list(trainer.steps())
    assert all(torch.isfinite(torch.tensor(r.loss)) for r in results)
    assert results[-1].val_loss is not None
    assert sample_text(trainer)


def _run_in_thread(trainer, control: TrainControl) -> tuple[threading.Thread, list]:
    seen: list = []
    thread = threading.Thread(target=lambda: seen.extend(trainer.steps(control)), daemon=True)
    thread.start()
    return thread, seen


def _wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        assert time.perf_counter() < deadline, "timed out"
        time.sleep(0.01)


def test_pause_resume_and_stop_between_steps(corpus: Path) -> None:
    trainer = tiny(corpus, steps=100_000)
    control = TrainControl()
    thread, _ = _run_in_thread(trainer, control)
    _wait_for(lambda: trainer.step > 0)
    control.pause()
    ran: list[int] = []
    control.call_between_steps(lambda: ran.append(trainer.step))  # runs at the pause point
    _wait_for(lambda: len(ran) == 1)
    paused_at = ran[0]
    time.sleep(0.2)
    assert trainer.step == paused_at > 0 and control.paused
    control.call_between_steps(lambda: ran.append(trainer.step))  # and while paused
    _wait_for(lambda: ran == [paused_at, paused_at])
    control.resume()
    _wait_for(lambda: trainer.step > paused_at)
    t0 = time.perf_counter()
    control.stop()
    thread.join(timeout=1.0)
    assert not thread.is_alive() and time.perf_counter() - t0 < 1.0
    assert trainer.step < 100_000


def test_stop_while_paused_ends_the_run(corpus: Path) -> None:
    trainer = tiny(corpus, steps=100_000)
    control = TrainControl()
    control.pause()
    thread, seen = _run_in_thread(trainer, control)
    time.sleep(0.1)
    control.stop()
    thread.join(timeout=1.0)
    assert not thread.is_alive() and seen == [] and trainer.step == 0


def test_nan_loss_stops_with_a_clear_error_and_keeps_the_weights(corpus, monkeypatch) -> None:
    trainer = tiny(corpus, steps=10)
    real = loop_module.batch_loss
    calls = {"n": 0}

    def poisoned(*args, **kwargs):
        calls["n"] += 1
        loss = real(*args, **kwargs)
        return loss * float("nan") if calls["n"] == 4 else loss

    monkeypatch.setattr(loop_module, "batch_loss", poisoned)
    it = trainer.steps()
    for _ in range(3):
        next(it)
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    with pytest.raises(TrainingDiverged, match="loss became nan at step 4"):
        next(it)
    assert trainer.step == 3
    after = trainer.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_out_of_memory_is_reported_and_the_run_can_continue(corpus, monkeypatch) -> None:
    trainer = tiny(corpus, steps=6)
    list(zip(range(2), trainer.steps()))
    real = trainer._train_step

    def oom(lr):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")

    monkeypatch.setattr(trainer, "_train_step", oom)
    with pytest.raises(OutOfMemory, match="batch size 8.*batch size 4 or on the CPU"):
        list(trainer.steps())
    assert trainer.step == 2
    monkeypatch.setattr(trainer, "_train_step", real)
    trainer.config.batch_size = 4
    trainer.to("cpu")
    assert [r.step for r in trainer.steps()] == [3, 4, 5, 6]


def test_devices_on_this_machine() -> None:
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cuda", "mps", "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            resolve_device("cuda")
        assert resolve_device("auto").type != "cuda"
    with pytest.raises(ValueError, match="unknown device|unsupported device"):
        resolve_device("tpu")
    with autocast(torch.device("cpu"), bf16=True):
        assert not torch.is_autocast_enabled("cpu")
    assert is_out_of_memory(torch.cuda.OutOfMemoryError("x"))
    assert is_out_of_memory(RuntimeError("MPS backend out of memory"))
    assert not is_out_of_memory(RuntimeError("shape mismatch"))


def _poison_step(monkeypatch, bad_call: int, value: float = float("nan")) -> None:
    real = loop_module.batch_loss
    calls = {"n": 0}

    def poisoned(*args, **kwargs):
        calls["n"] += 1
        loss = real(*args, **kwargs)
        return loss * value if calls["n"] == bad_call else loss

    monkeypatch.setattr(loop_module, "batch_loss", poisoned)


@pytest.mark.parametrize(("lazy", "value", "accum"), [
    (False, float("nan"), 1), (True, float("nan"), 1), (False, float("inf"), 1),
    (True, float("inf"), 1), (True, float("nan"), 2), (False, float("nan"), 2),
], ids=["host-nan", "device-nan", "host-inf", "device-inf", "device-accum", "host-accum"])
def test_divergence_at_a_step_that_is_not_logged_is_caught_there(corpus, monkeypatch, lazy,
                                                                  value, accum) -> None:
    """log_every 10 (as on GPUs); step 14 goes bad. Its update is never applied, the error
    names step 14, and the trainer stands exactly after step 13 (weights, optimiser, step
    count, tokens, random generators). The CPU checks each step before its update; the
    device check (CUDA's, exercised here on the CPU) skips the update on the device and
    reads the flag at the next logged step (20)."""
    monkeypatch.setattr(loop_module, "checks_lazily", lambda device: lazy)
    reference = tiny(corpus, steps=40, log_every=1, val_every=0, grad_accum=accum)
    ref = reference.steps()
    for _ in range(13):
        next(ref)
    trainer = tiny(corpus, steps=40, log_every=10, val_every=0, grad_accum=accum)
    assert trainer.lazy_checks is lazy
    _poison_step(monkeypatch, 13 * accum + 1, value)  # step 14's first micro-batch
    it = trainer.steps()
    assert next(it).step == 10
    what = "loss" if value != value else "loss|gradient norm"
    with pytest.raises(TrainingDiverged, match=f"({what}) became .* at step 14 "):
        next(it)
    assert (trainer.step, trainer.tokens) == (13, reference.tokens)
    after, before = trainer.model.state_dict(), reference.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    moments = [(s["exp_avg"], s["exp_avg_sq"]) for s in trainer.optimizer.state.values()]
    expected = [(s["exp_avg"], s["exp_avg_sq"]) for s in reference.optimizer.state.values()]
    assert all(torch.equal(a, b) for m, e in zip(moments, expected) for a, b in zip(m, e))
    assert torch.equal(trainer.batch_gen.get_state(), reference.batch_gen.get_state())
    assert trainer.weights_finite()
