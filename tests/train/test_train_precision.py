"""Mixed precision: detection, the fp32 fallback, bf16 autocast with fp32 weights and loss."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from explorer.cli import main
from explorer.train import DataSource, TrainConfig, new_trainer
from explorer.train import devices as devices_module
from explorer.train.devices import (
    CPU_BF16_MIN_D_E,
    cpu_bf16_native,
    precision_autocast,
    precision_label,
    resolve_precision,
)

CPU, CUDA = torch.device("cpu"), torch.device("cuda")


def test_cpu_bf16_is_detected_from_the_cpu_flags():
    assert not cpu_bf16_native({"avx2", "avx512f"})
    assert not cpu_bf16_native(set())
    assert cpu_bf16_native({"avx512f", "avx512_bf16"}) == torch.backends.mkldnn.is_available()
    assert cpu_bf16_native({"amx_bf16", "amx_tile"}) == torch.backends.mkldnn.is_available()


def test_precision_falls_back_to_fp32_where_bf16_is_not_native():
    assert resolve_precision("bf16", CPU, 512, supported=False)[0] == "fp32"
    assert "no native bfloat16" in resolve_precision("bf16", CPU, 512, supported=False)[1]
    assert resolve_precision("auto", CPU, 512, supported=False)[0] == "fp32"
    assert resolve_precision("auto", CUDA, 64, supported=False)[0] == "fp32"
    assert resolve_precision("fp32", CPU, 512, supported=True)[0] == "fp32"
    assert resolve_precision("bf16", CPU, 64, supported=True)[0] == "bf16"


def test_auto_takes_bf16_only_where_it_pays():
    small, wide = CPU_BF16_MIN_D_E // 2, CPU_BF16_MIN_D_E
    assert resolve_precision("auto", CPU, small, supported=True)[0] == "fp32"  # never slower
    assert resolve_precision("auto", CPU, wide, supported=True)[0] == "bf16"
    assert resolve_precision("auto", CUDA, small, supported=True)[0] == "bf16"
    with pytest.raises(ValueError, match="unknown precision"):
        resolve_precision("fp8", CPU)


def test_labels_and_contexts():
    assert precision_label("bf16", CPU).startswith("bf16 autocast")
    assert precision_label("fp32", CPU) == "fp32"
    with precision_autocast(CPU, "bf16"):
        assert torch.is_autocast_enabled("cpu")
    with precision_autocast(CPU, "fp32"):
        assert not torch.is_autocast_enabled("cpu")


def _trainer(precision: str, d_e: int = 32):
    source = DataSource("next-token", "t", text="the cat sat on the mat. " * 200)
    config = TrainConfig(steps=3, batch_size=4, val_every=3, device="cpu", precision=precision)
    return new_trainer(source, config, "char", l_max=16, d_e=d_e, n_heads=2, n_layers=1)


def test_bf16_trains_with_fp32_master_weights_and_loss(monkeypatch):
    monkeypatch.setattr(devices_module, "bf16_supported", lambda device: True)
    trainer = _trainer("bf16")
    assert trainer.precision == "bf16"
    seen = []
    trainer.model.stack.blocks[0].mlp.W_mlp1.register_forward_hook(
        lambda m, i, o: seen.append(o.dtype))
    results = list(trainer.steps())
    assert torch.bfloat16 in seen  # the matrix products ran in bfloat16
    assert all(p.dtype == torch.float32 for p in trainer.model.parameters())
    assert all(r.precision == "bf16" for r in results)
    assert results[-1].val_loss is not None and torch.isfinite(torch.tensor(results[-1].loss))
    loss, _, _ = trainer._train_step(1e-3)
    assert loss.dtype == torch.float32


def test_an_unsupported_device_trains_in_fp32(monkeypatch):
    monkeypatch.setattr(devices_module, "bf16_supported", lambda device: False)
    trainer = _trainer("bf16")
    assert trainer.precision == "fp32" and "no native bfloat16" in trainer.precision_note
    seen = []
    trainer.model.stack.blocks[0].mlp.W_mlp1.register_forward_hook(
        lambda m, i, o: seen.append(o.dtype))
    list(trainer.steps())
    assert set(seen) == {torch.float32}


def test_precision_can_change_between_steps(monkeypatch):
    monkeypatch.setattr(devices_module, "bf16_supported", lambda device: True)
    trainer = _trainer("auto", d_e=32)
    assert trainer.precision == "fp32"  # a narrow model: bf16 would not pay on a CPU
    assert trainer.set_precision("bf16") == "bf16" and trainer.config.precision == "bf16"
    with pytest.raises(ValueError):
        trainer.set_precision("half")


def _fused(trainer) -> set[bool]:
    return {m.fused for m in trainer.model.modules() if hasattr(m, "fused")}


def test_the_attention_kernel_follows_the_precision(monkeypatch):
    """bf16 on a CPU trains with the plain products (torch's fused kernel's backward is
    slower there); fp32 keeps the fused kernel; a change of precision switches it."""
    monkeypatch.setattr(devices_module, "bf16_supported", lambda device: True)
    trainer = _trainer("bf16")
    assert trainer.precision == "bf16" and _fused(trainer) == {False}
    list(trainer.steps())
    assert _fused(trainer) == {False}
    trainer.set_precision("fp32")
    assert _fused(trainer) == {True}
    assert devices_module.fused_attention_pays(CUDA, "bf16")
    assert not devices_module.fused_attention_pays(CPU, "bf16")


def test_the_command_prints_and_records_the_precision(tmp_path: Path, capsys):
    corpus = tmp_path / "c.txt"
    corpus.write_text("the cat sat on the mat.\n" * 100, encoding="utf-8")
    out = tmp_path / "run"
    assert main(["train", "--preset", "tiny", "--data", str(corpus), "--out", str(out),
                 "--steps", "4", "--precision", "fp32"]) == 0
    assert "precision: fp32 (asked for)" in capsys.readouterr().err
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert {line["precision"] for line in lines} == {"fp32"}
    assert main(["train", "--resume", str(out), "--steps", "6", "--precision", "bf16"]) == 0
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    expected = "bf16" if devices_module.bf16_supported(CPU) else "fp32"
    assert lines[-1]["precision"] == expected
