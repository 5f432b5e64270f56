"""One builder of runs (explorer.train.options): every option of a preset reaches the run
the same way through the command line and through the window's Train tab."""

from __future__ import annotations

import ast
import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from explorer.train import TrainControl  # noqa: E402
from explorer.train import options as options_module  # noqa: E402
from explorer.train.options import (  # noqa: E402
    CONFIG_FIELDS,
    MODEL_OPTIONS,
    RUN_OPTIONS,
    RunPlan,
    apply_resume_options,
)
from explorer.train.presets import DEFAULTS, PRESETS  # noqa: E402

# A preset that sets every option to a value other than its default.
EVERYTHING = {
    "task": "masked", "arch": "encoder", "data": "grammar", "tokenizer": "word",
    "vocab_size": 50, "steps": 77, "batch_size": 5, "grad_accum": 3, "lr": 5e-3,
    "warmup": 7, "weight_decay": 0.02, "grad_clip": 0.5, "p_mask": 0.2, "val_every": 11,
    "val_fraction": 0.2, "log_every": 4, "save_every": 33, "snapshot_every": 9, "seed": 3,
    "device": "cpu", "bf16": False, "tf32": False, "precision": "fp32", "d_e": 48,
    "n_heads": 3, "n_layers": 3, "l_max": 40, "d_mlp": 96, "norm": "rms",
    "norm_placement": "pre", "positions": "rotary", "activation": "silu",
    "tie_unembedding": True, "n_kv_heads": 1,
}


class _Planned(Exception):
    """Raised instead of starting a run: the plan it would start from."""


def _capture(monkeypatch) -> None:
    def instead(plan, control=None):
        raise _Planned(plan)

    monkeypatch.setattr(RunPlan, "new_trainer", instead)


def _data(preset: str) -> list[str]:
    """A preset that names no data (``tiny``, ``small``) is given some."""
    return [] if PRESETS[preset].get("data") else ["--data", "grammar"]


def _cli_plan(preset: str, tmp_path: Path) -> RunPlan:
    from explorer.cli import build_parser
    from explorer.commands import train

    args = build_parser(["train"]).parse_args(
        ["train", "--preset", preset, "--out", str(tmp_path / "cli"), *_data(preset)])
    with pytest.raises(_Planned) as info:
        train._build(args, TrainControl())
    return info.value.args[0]


def _tab_plan(preset: str, tmp_path: Path, qtbot) -> RunPlan:
    from explorer.ui.train.panel import TrainPanel

    panel = TrainPanel(runs_dir=tmp_path / "runs")
    qtbot.addWidget(panel)
    started = []
    panel._launch = lambda make, run_dir, trainer=None: started.append(make)
    given = dict(zip(["data"], _data(preset)[1:]))
    panel.start_preset({"preset": preset, **given})  # what a scene's training request does
    assert started, panel.form.message.text()
    with pytest.raises(_Planned) as info:
        started[0](TrainControl())
    return info.value.args[0]


def _reached(plan: RunPlan, option: str):
    if option in CONFIG_FIELDS:
        return getattr(plan.config, CONFIG_FIELDS[option])
    if option in MODEL_OPTIONS:
        return plan.sizes[option]
    return getattr(plan, option)


def test_every_option_has_one_place_in_a_run():
    placed = list(CONFIG_FIELDS) + list(MODEL_OPTIONS) + list(RUN_OPTIONS)
    assert sorted(placed) == sorted(DEFAULTS) and len(placed) == len(set(placed))
    assert set(EVERYTHING) == set(DEFAULTS)
    assert all(EVERYTHING[k] != DEFAULTS[k] for k in DEFAULTS)


@pytest.mark.parametrize("preset", [*sorted(PRESETS), "everything"])
def test_every_preset_option_reaches_the_run_from_the_cli_and_the_train_tab(
        preset, tmp_path, monkeypatch, qtbot):
    monkeypatch.setitem(PRESETS, "everything", EVERYTHING)
    _capture(monkeypatch)
    cli, tab = _cli_plan(preset, tmp_path), _tab_plan(preset, tmp_path, qtbot)
    for option, value in PRESETS[preset].items():
        assert _reached(cli, option) == value, ("cli", option)
        assert _reached(tab, option) == value, ("train tab", option)
    assert cli == tab  # and everything else is the same too


def test_resume_rules_live_in_the_train_package(tmp_path):
    from explorer.train import TrainConfig, new_trainer

    corpus = tmp_path / "c.txt"
    corpus.write_text("the cat sat on the mat.\n" * 40, encoding="utf-8")
    trainer = new_trainer(corpus, TrainConfig(steps=4, batch_size=4, device="cpu"), "char",
                          l_max=16, d_e=16, n_heads=2, n_layers=1)
    with pytest.raises(ValueError, match="--d-e, --seed cannot change when a run is resumed"):
        apply_resume_options(trainer, {"d_e": 32, "seed": 1})
    changes = apply_resume_options(trainer, {"lr": 0.01, "grad_accum": 2, "tf32": False})
    assert (trainer.config.lr, trainer.config.grad_accum, trainer.config.tf32) == (
        0.01, 2, False)
    assert "learning rate 0.001 -> 0.01" in changes
    source = Path(options_module.__file__).read_text(encoding="utf-8")
    assert "RESUME_REFUSES" in source


def test_the_launcher_does_not_import_the_train_command_nor_argparse_internals():
    from explorer.commands import train_launch

    tree = ast.parse(Path(train_launch.__file__).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                and node.module == "explorer.commands" for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "train" not in imported and "explorer.commands.train" not in imported
    private = [node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
               and node.attr.startswith("_") and not node.attr.startswith("__")]
    assert private == []
