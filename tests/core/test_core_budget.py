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
        build_model(cfg)
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
        build_model(cfg)
    monkeypatch.setattr(budget, "available_memory", lambda: None)  # unknown: not refused
    build_model(cfg)


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
