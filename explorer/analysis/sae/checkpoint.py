"""A training run's folder: the SAE in SAELens's layout (``explorer.analysis.sae.files``)
plus what resuming needs, ``training.json`` (settings, step, scale, data, metrics) and
``training_state.safetensors`` (Adam's moments, when each feature last fired)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from explorer.analysis.sae.files import SAEFileError, load_sae, save_sae
from explorer.analysis.sae.training import SAETrainer, TrainSettings
from explorer.core.weights_file import WeightsFile

STATE_JSON = "training.json"
STATE_TENSORS = "training_state.safetensors"
_PARAMS = ("W_enc", "b_enc", "W_dec", "b_dec")


def save_training(trainer: SAETrainer, folder: str | Path, model_name: str, data: str,
                  metrics: dict[str, Any] | None = None) -> Path:
    folder = Path(folder)
    save_sae(trainer.sae(), folder, trainer.site, model_name,
             trainer.windows.length, data)
    tensors = {"last_fired": trainer.last_fired.clone()}
    for name in _PARAMS:
        state = trainer.optimizer.state.get(getattr(trainer.core, name), {})
        for moment in ("exp_avg", "exp_avg_sq"):
            if moment in state:
                tensors[f"{name}.{moment}"] = state[moment].detach().contiguous()
    save_file(tensors, str(folder / STATE_TENSORS))
    info = {"settings": trainer.settings.to_dict(), "step": trainer.step_count,
            "scale": trainer.scale, "seconds": trainer.seconds,
            "activations": trainer.stream.served, "model": model_name, "data": data,
            "site": trainer.site.step, "head": trainer.site.head, "metrics": metrics or {}}
    (folder / STATE_JSON).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return folder


def read_training(folder: str | Path) -> dict[str, Any] | None:
    """The run's training.json, None when the folder holds no run to resume."""
    path = Path(folder) / STATE_JSON
    if not path.is_file():
        return None
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SAEFileError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(info, dict) or not isinstance(info.get("settings"), dict):
        raise SAEFileError(f"{path}: not a training state this program wrote")
    return info


def settings_of(info: dict[str, Any]) -> TrainSettings:
    try:
        return TrainSettings(**info["settings"])
    except TypeError as exc:
        raise SAEFileError(f"the saved training settings do not fit: {exc}") from None


def resume(trainer: SAETrainer, folder: str | Path, info: dict[str, Any]) -> None:
    """Continue ``trainer`` (built with the saved settings) from the run in ``folder``."""
    folder = Path(folder)
    sae, site = load_sae(folder, trainer.model)
    if site != trainer.site:
        raise SAEFileError(f"{folder}: that run trained at {site.step}, not "
                           f"{trainer.site.step}")
    trainer.load_scaled(sae, float(info["scale"]))
    trainer.step_count = int(info["step"])
    trainer.seconds = float(info.get("seconds", 0.0))
    trainer.stream.served = int(info.get("activations", 0))
    trainer.stream.generator.manual_seed(trainer.settings.seed + trainer.step_count)
    try:
        state = WeightsFile(folder / STATE_TENSORS)
    except (OSError, ValueError) as exc:
        raise SAEFileError(f"{folder}: its training state cannot be read ({exc})") from None
    if "last_fired" in state:
        state.read("last_fired", out=trainer.last_fired)
    for name in _PARAMS:
        param = getattr(trainer.core, name)
        if f"{name}.exp_avg" in state and f"{name}.exp_avg_sq" in state:
            trainer.optimizer.state[param] = {
                "step": torch.tensor(float(trainer.step_count)),
                "exp_avg": state.read(f"{name}.exp_avg"),
                "exp_avg_sq": state.read(f"{name}.exp_avg_sq")}
