"""No run is ever lost: signals, a folder that cannot be written, NaN, resume options,
saving independent of logging, one writer per folder (real processes), tidy folders."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from explorer.cli import main
from explorer.train import RunLock, RunLocked, TrainConfig, find_checkpoint, new_trainer
from explorer.train import keep as keep_module
from explorer.train.checkpoint import read_checkpoint_state

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["--d-e", "32", "--n-heads", "2", "--n-layers", "1", "--l-max", "32",
         "--batch-size", "8", "--device", "cpu", "--val-every", "0"]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.txt"
    path.write_text("the cat sat on the mat.\na dog ran to the park.\n" * 100, encoding="utf-8")
    return path


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _metric_lines(path: Path) -> int:
    try:
        return len(path.read_text(encoding="utf-8").splitlines())
    except OSError:
        return 0


# -- signals ---------------------------------------------------------------------------
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_save_once_unlock_and_exit_non_zero(corpus, tmp_path, signum):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "explorer", "train", "--data", str(corpus), "--out", str(out),
           "--steps", "1000000", "--log-every", "1", "--save-every", "0", *SMALL]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env(), cwd=tmp_path)
    try:
        deadline = time.monotonic() + 180
        while _metric_lines(out / "metrics.jsonl") < 3 and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.1)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signum, err
    assert "Traceback" not in err
    assert err.count("checkpoint saved to") == 1, err
    state = read_checkpoint_state(out)
    assert state["step"] >= 3
    RunLock(out).acquire().release()  # unlocked


def test_ctrl_c_while_importing_prints_one_line(tmp_path) -> None:
    """Ctrl+C in the first half second (torch still importing): no traceback."""
    # 'ready' is printed from inside main, as it starts importing a command (and torch),
    # so the signal always lands where a user's Ctrl+C during the imports would
    code = ("import sys, explorer.cli as cli\n"
            "load = cli._command_module\n"
            "def announced(name):\n"
            "    print('ready', flush=True)\n"
            "    return load(name)\n"
            "cli._command_module = announced\n"
            "sys.exit(cli.main(['train', '--help']))")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env(), cwd=tmp_path)
    assert proc.stdout.readline().strip() == "ready"  # in main, importing torch now
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    if proc.returncode == 0:  # the machine was fast enough to finish first
        pytest.skip("the command ended before the signal arrived")
    assert proc.returncode == 130
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert err.strip() == "interrupted"


def test_ctrl_c_during_imports_is_caught_by_main(monkeypatch, capsys) -> None:
    import explorer.cli as cli

    def interrupted(name: str):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_command_module", interrupted)
    assert main(["train", "--help"]) == 130
    assert capsys.readouterr().err.strip() == "interrupted"


# -- saving ------------------------------------------------------------------------------
def test_save_every_does_not_depend_on_the_log_interval(corpus, tmp_path, monkeypatch):
    import explorer.commands.train as command

    saved_at = []
    real = command.save_run

    def spy(trainer, out, roots=None):
        saved_at.append(trainer.step)
        return real(trainer, out, roots)

    monkeypatch.setattr(command, "save_run", spy)
    out = tmp_path / "run"
    assert main(["train", "--data", str(corpus), "--out", str(out), "--steps", "20",
                 "--save-every", "7", "--log-every", "10", "--quiet", *SMALL]) == 0
    assert saved_at == [7, 14, 20]


def test_a_folder_that_cannot_be_written_keeps_the_run_elsewhere(corpus, tmp_path, monkeypatch,
                                                                 capsys):
    """The run folder refuses writes (read-only) mid-run: a warning, training goes on,
    the run is saved into a rescue folder the message names, and it can be resumed."""
    out = tmp_path / "run"
    rescue = tmp_path / "rescue"
    monkeypatch.setenv("TRANSFORMER_EXPLORER_RESCUE_DIR", str(rescue))
    real = keep_module.save_checkpoint

    def read_only(trainer, directory):
        if Path(directory).resolve() == out.resolve() and trainer.step > 5:
            raise PermissionError(13, "Permission denied", str(directory))
        return real(trainer, directory)

    monkeypatch.setattr(keep_module, "save_checkpoint", read_only)
    code = main(["train", "--data", str(corpus), "--out", str(out), "--steps", "12",
                 "--save-every", "4", *SMALL])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert "cannot save into" in err and "permission denied" in err
    saved = list(rescue.iterdir())
    assert len(saved) == 1 and f"--resume {saved[0]}" in err
    assert read_checkpoint_state(saved[0])["step"] == 12  # the whole run, not step 4
    assert read_checkpoint_state(out)["step"] == 4  # what the folder took before


def test_save_run_with_no_writable_folder_says_the_run_is_only_in_memory(corpus, tmp_path,
                                                                         monkeypatch):
    trainer = tiny_trainer(corpus)
    list(trainer.steps())

    def refuse(trainer, directory):
        raise PermissionError(13, "Permission denied", str(directory))

    monkeypatch.setattr(keep_module, "save_checkpoint", refuse)
    outcome = keep_module.save_run(trainer, tmp_path / "run", roots=[tmp_path / "other"])
    assert outcome.path is None and "only in memory" in outcome.message
    assert str(tmp_path / "other") in outcome.message


def test_release_never_raises_on_a_read_only_folder(tmp_path, monkeypatch) -> None:
    lock = RunLock(tmp_path / "run").acquire()

    def denied(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "unlink", denied)
    lock.release()  # no PermissionError
    monkeypatch.undo()
    RunLock(tmp_path / "run").acquire().release()


def tiny_trainer(corpus: Path, lr: float = 3e-3, steps: int = 6):
    cfg = TrainConfig(task="next-token", steps=steps, batch_size=8, lr=lr, val_every=0,
                      device="cpu")
    return new_trainer(corpus, cfg, "char", l_max=32, d_e=32, n_heads=2, n_layers=1)


# -- NaN -------------------------------------------------------------------------------
def test_a_huge_learning_rate_says_what_is_true(corpus, tmp_path, capsys) -> None:
    out = tmp_path / "run"
    code = main(["train", "--data", str(corpus), "--out", str(out), "--steps", "50",
                 "--lr", "1e6", "--warmup", "0", "--save-every", "0", *SMALL])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert "last good checkpoint" not in err
    try:
        state = read_checkpoint_state(out)
    except ValueError:
        state = None
    if state is None:
        assert "no checkpoint exists" in err or "nothing was saved" in err
    else:
        assert f"the last finite weights (step {state['step']}) were saved" in err.lower()


def test_after_divergence_saves_finite_weights_and_not_nan_ones(corpus, tmp_path) -> None:
    trainer = tiny_trainer(corpus)
    for _ in zip(range(3), trainer.steps()):
        pass
    outcome = keep_module.after_divergence(trainer, tmp_path / "a")
    assert outcome.ok and read_checkpoint_state(tmp_path / "a")["step"] == 3
    with torch.no_grad():
        next(trainer.model.parameters()).fill_(float("nan"))
    trainer.step += 1
    outcome = keep_module.after_divergence(trainer, tmp_path / "a")
    assert "checkpoint of step 3" in outcome.message and "kept" in outcome.message
    fresh = tiny_trainer(corpus)
    for _ in zip(range(2), fresh.steps()):
        pass
    with torch.no_grad():
        next(fresh.model.parameters()).fill_(float("nan"))
    outcome = keep_module.after_divergence(fresh, tmp_path / "b")
    assert outcome.path is None and "no checkpoint exists" in outcome.message
    assert not (tmp_path / "b").exists()


# -- resume ----------------------------------------------------------------------------
def test_resume_applies_or_refuses_each_option(corpus, tmp_path, capsys) -> None:
    out = tmp_path / "run"
    assert main(["train", "--data", str(corpus), "--out", str(out), "--steps", "10",
                 "--lr", "0.003", "--quiet", *SMALL]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(out), "--steps", "14", "--lr", "0.01"]) == 0
    err = capsys.readouterr().err
    assert "learning rate 0.003 -> 0.01" in err and "steps 10 -> 14" in err
    state = read_checkpoint_state(out)
    assert state["train_config"]["lr"] == 0.01 and state["step"] == 14
    assert main(["train", "--resume", str(out), "--steps", "16", "--d-e", "64"]) == 1
    err = capsys.readouterr().err
    assert "--d-e cannot change" in err
    assert read_checkpoint_state(out)["step"] == 14


def test_resume_truncates_metrics_and_removes_stale_temporaries(corpus, tmp_path) -> None:
    out = tmp_path / "run"
    assert main(["train", "--data", str(corpus), "--out", str(out), "--steps", "10",
                 "--quiet", *SMALL]) == 0
    metrics = out / "metrics.jsonl"
    with metrics.open("a", encoding="utf-8") as f:  # steps trained after the save, then killed
        for step in range(11, 14):
            f.write(json.dumps({"step": step, "loss": 1.0}) + "\n")
    stale = out / ".checkpoint-tmp-999-123"
    stale.mkdir()
    (stale / "model.safetensors").write_bytes(b"half")
    assert main(["train", "--resume", str(out), "--steps", "15", "--quiet"]) == 0
    steps = [json.loads(line)["step"] for line in metrics.read_text().splitlines()]
    assert steps == list(range(1, 16))
    assert not stale.exists()


# -- folders ---------------------------------------------------------------------------
def test_a_run_that_fails_before_its_first_step_leaves_no_folder(tmp_path, capsys) -> None:
    out = tmp_path / "new-run"
    assert main(["train", "--data", str(tmp_path / "missing.txt"), "--out", str(out),
                 "--quiet"]) == 1
    assert "no such file" in capsys.readouterr().err
    assert not out.exists()
    mine = tmp_path / "mine"
    mine.mkdir()  # a folder the user made stays
    assert main(["train", "--data", str(tmp_path / "missing.txt"), "--out", str(mine)]) == 1
    assert mine.is_dir()


LOCKER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from explorer.train.runlock import RunLock, RunLocked
    folder, me, rounds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    (folder.parent / f"ready-{me}").touch()
    while len(list(folder.parent.glob("ready-*"))) < 2:
        time.sleep(0.001)
    for r in range(rounds):
        go = folder.parent / f"go-{r}"
        while not go.exists():
            time.sleep(0.0005)
        try:
            lock = RunLock(folder).acquire()
        except RunLocked:
            print("locked", flush=True)
        else:
            print("got", flush=True)
            time.sleep(0.3)
            lock.release()
        (folder.parent / f"done-{r}-{me}").touch()
""")


def test_exactly_one_of_two_simultaneous_starts_gets_the_folder(tmp_path) -> None:
    rounds = 5
    script = tmp_path / "locker.py"
    script.write_text(LOCKER, encoding="utf-8")
    folder = tmp_path / "run"
    procs = [subprocess.Popen([sys.executable, str(script), str(folder), str(i), str(rounds)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=_env()) for i in range(2)]
    try:
        deadline = time.monotonic() + 120
        while len(list(tmp_path.glob("ready-*"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        for r in range(rounds):
            (tmp_path / f"go-{r}").touch()
            while len(list(tmp_path.glob(f"done-{r}-*"))) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
        outputs = [p.communicate(timeout=60) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    lines = [out.split() for out, _ in outputs]
    assert all(len(x) == rounds for x in lines), outputs
    for r in range(rounds):
        assert sorted([lines[0][r], lines[1][r]]) == ["got", "locked"], (r, lines)


def test_a_lock_is_released_only_by_its_owner(tmp_path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from explorer.train.runlock import RunLock; "
         "RunLock(sys.argv[1]).acquire(); print('held', flush=True); time.sleep(60)",
         str(tmp_path / "run")],
        stdout=subprocess.PIPE, text=True, env=_env())
    try:
        assert holder.stdout.readline().strip() == "held"
        other = RunLock(tmp_path / "run")
        with pytest.raises(RunLocked, match="in use by another run"):
            other.acquire()
        other.release()  # not its lock: nothing happens
        with pytest.raises(RunLocked):
            RunLock(tmp_path / "run").acquire()
    finally:
        holder.kill()
        holder.wait()
    RunLock(tmp_path / "run").acquire().release()  # the owner is gone: free


def test_find_checkpoint_of_a_rescued_run(corpus, tmp_path) -> None:
    trainer = tiny_trainer(corpus)
    list(trainer.steps())
    outcome = keep_module.save_run(trainer, tmp_path / "run")
    assert outcome.ok and not outcome.rescued
    assert find_checkpoint(tmp_path / "run") == outcome.path
