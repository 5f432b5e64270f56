"""Models that cannot be built are refused from their config, before any allocation."""

from __future__ import annotations

import json
import time

import pytest

from explorer.core import ModelConfig, budget, build_model
from explorer.core.budget import ModelTooLarge, check_model_fits, estimate_model

CONFIGS = [
    ModelConfig(arch="decoder", vocab_size=50, l_max=16, d_e=32, n_heads=2, n_layers=3),
    ModelConfig(arch="encoder", vocab_size=50, l_max=16, d_e=32, n_heads=4, n_layers=2,
                n_classes=3),
    ModelConfig(arch="encoder-decoder", vocab_size=50, l_max=16, d_e=16, n_heads=2,
                n_enc_layers=3, n_dec_layers=1, positions="sinusoidal"),
    ModelConfig(arch="decoder", vocab_size=50, l_max=16, d_e=32, n_heads=2, n_layers=2,
                tie_unembedding=True, norm="rms"),
    ModelConfig(arch="encoder", vocab_size=50, l_max=16, d_e=32, n_heads=2, n_layers=0),
    ModelConfig(arch="encoder-decoder", vocab_size=50, l_max=16, d_e=16, n_heads=2,
                n_enc_layers=0, n_dec_layers=5),
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: c.arch)
def test_the_estimate_counts_exactly_the_parameters_of_the_built_model(cfg):
    model = build_model(cfg)
    assert estimate_model(cfg).parameters == model.num_parameters()
    size = sum(p.numel() * 4 for p in {id(p): p for p in model.parameters()}.values())
    size += sum(b.numel() * b.element_size() for b in model.buffers())
    assert estimate_model(cfg).weight_bytes == size


@pytest.mark.parametrize("sizes", [{"n_layers": 10000, "d_e": 1024},
                                   {"n_layers": 2, "d_e": 10**6}])
def test_a_model_too_large_for_memory_is_refused_before_allocating(sizes):
    cfg = ModelConfig(arch="decoder", vocab_size=100, l_max=64, n_heads=4, **sizes)
    start = time.perf_counter()
    with pytest.raises(ModelTooLarge) as info:
        check_model_fits(cfg)
    message = str(info.value)
    assert "parameters" in message and "available" in message
    assert f"{estimate_model(cfg).parameters:,}" in message
    assert time.perf_counter() - start < 60  # counted on the meta device, not allocated


def test_the_limit_is_the_memory_available_now(monkeypatch):
    cfg = ModelConfig(arch="decoder", vocab_size=100, l_max=64, d_e=64, n_heads=4, n_layers=2)
    need = estimate_model(cfg).weight_bytes
    monkeypatch.setattr(budget, "available_memory", lambda: need * 2)
    check_model_fits(cfg)  # fits
    with pytest.raises(ModelTooLarge, match="to train"):
        check_model_fits(cfg, training=True)  # weights + gradients + two moments do not
    monkeypatch.setattr(budget, "available_memory", lambda: need // 2)
    with pytest.raises(ModelTooLarge, match=budget.format_bytes(need)):
        check_model_fits(cfg)
    monkeypatch.setattr(budget, "available_memory", lambda: None)  # unknown: not refused
    check_model_fits(cfg)


def test_available_memory_is_a_positive_number_here():
    free = budget.available_memory()
    assert free is None or free > 0


def test_our_folder_with_a_huge_config_is_refused_with_sizes(tmp_path, capsys):
    from explorer.cli import main
    from explorer.io import CheckpointError, open_model

    folder = tmp_path / "huge"
    folder.mkdir()
    cfg = ModelConfig(arch="decoder", vocab_size=100, l_max=64, d_e=1024, n_heads=4,
                      n_layers=10000)
    data = {"model_type": "transformer-explorer", **cfg.to_dict()}
    (folder / "config.json").write_text(json.dumps(data), encoding="utf-8")
    (folder / "model.safetensors").write_bytes(b"\0" * 16)
    (folder / "tokenizer.json").write_text("{}", encoding="utf-8")
    with pytest.raises(CheckpointError, match="parameters"):
        open_model(folder)
    for command in (["inspect", "--model", str(folder)],
                    ["generate", "--model", str(folder), "--prompt", "a"]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert "parameters" in err and "Traceback" not in err


def test_the_estimate_does_not_slow_building_down():
    """Counting on "meta" skips the initialisation, which there would import torch's
    compiler (seconds at every start)."""
    import subprocess
    import sys

    code = ("import sys; from explorer.core import ModelConfig, build_model; "
            "build_model(ModelConfig(arch='decoder', vocab_size=50, l_max=16)); "
            "print('torch._dynamo' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"


def _no_memory_reading(monkeypatch):
    def refuse(*_args):
        raise AssertionError("the host's memory was read")

    for name in ("available_memory", "_meminfo_available", "_cgroup_available",
                 "_rlimit_available", "_sysconf_available", "check_model_fits"):
        monkeypatch.setattr(budget, name, refuse)


def test_build_model_is_pure_it_reads_no_host_memory(monkeypatch):
    import explorer.core.models as models

    _no_memory_reading(monkeypatch)
    for cfg in CONFIGS:
        assert build_model(cfg).num_parameters() > 0
    source = open(models.__file__, encoding="utf-8").read()
    assert "import check_model_fits" not in source  # no core/budget <-> core/models circle


def _tight_memory(monkeypatch, cfg: ModelConfig) -> None:
    """Less memory than ``cfg``'s weights need (the message is the one of before)."""
    need = estimate_model(cfg).weight_bytes
    monkeypatch.setattr(budget, "available_memory", lambda: need // 2)


def test_io_refuses_an_over_budget_folder_before_loading_it(tmp_path, monkeypatch):
    from explorer.core import save_model
    from explorer.io import CheckpointError, open_model

    cfg = CONFIGS[0]
    save_model(build_model(cfg), tmp_path / "m")
    _tight_memory(monkeypatch, cfg)
    with pytest.raises(CheckpointError) as info:
        open_model(tmp_path / "m")
    with pytest.raises(ModelTooLarge) as expected:
        check_model_fits(cfg)
    assert str(info.value) == str(expected.value)
    assert "parameters" in str(info.value) and "available" in str(info.value)


def test_training_refuses_an_over_budget_model_new_or_resumed(tmp_path, monkeypatch):
    from explorer.train import (
        CheckpointError,
        TrainConfig,
        new_trainer,
        resume_trainer,
        save_checkpoint,
    )

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat on the mat.\n" * 40, encoding="utf-8")
    config = TrainConfig(steps=2, batch_size=4, device="cpu")
    sizes = {"l_max": 16, "d_e": 16, "n_heads": 2, "n_layers": 1}
    trainer = new_trainer(corpus, config, "char", **sizes)
    save_checkpoint(trainer, tmp_path / "run")
    cfg = trainer.model.cfg
    monkeypatch.setattr(budget, "available_memory",
                        lambda: estimate_model(cfg).training_bytes // 2)
    with pytest.raises(ModelTooLarge, match="to train"):
        new_trainer(corpus, config, "char", **sizes)
    with pytest.raises(CheckpointError, match="to train .* but only"):
        resume_trainer(tmp_path / "run")


def test_the_new_model_dialog_refuses_an_over_budget_model(qtbot, monkeypatch):
    from explorer.ui.window.model_dialog import NewModelDialog

    dialog = NewModelDialog("decoder")
    qtbot.addWidget(dialog)
    dialog.n_layers.setValue(12)
    dialog.d_e.setValue(512)
    assert dialog.too_large() == ""
    _tight_memory(monkeypatch, dialog.config())
    dialog._on_accept()
    assert "parameters" in dialog.error.text() and "available" in dialog.error.text()
    assert dialog.result() != dialog.DialogCode.Accepted
