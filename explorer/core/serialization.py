"""A model on disk: ``config.json`` plus ``model.safetensors`` (never a pickle)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors.torch import load_model as _load_weights
from safetensors.torch import save_model as _save_weights

from explorer.core.config import ModelConfig
from explorer.core.models import TransformerModel, build_model

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
MAX_CONFIG_BYTES = 16 * 2**20  # a real config.json is a few KB; larger ones are refused


def check_config_size(path: Path) -> None:
    """ValueError for a config file too large to be one (before a byte of it is read)."""
    try:
        size = path.stat().st_size
    except OSError:
        return
    if size > MAX_CONFIG_BYTES:
        raise ValueError(f"{path}: {size / 2**20:,.0f} MB is far too large for a model config "
                         f"(at most {MAX_CONFIG_BYTES // 2**20} MB); not read")


def save_model(model: TransformerModel, directory: str | os.PathLike) -> Path:
    """Write ``config.json`` and ``model.safetensors`` into ``directory`` atomically."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    tmp_weights = out / (WEIGHTS_FILE + ".tmp")
    _save_weights(model, str(tmp_weights))
    tmp_config = out / (CONFIG_FILE + ".tmp")
    data = {"model_type": "transformer-explorer", **model.cfg.to_dict()}
    tmp_config.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp_weights, out / WEIGHTS_FILE)
    os.replace(tmp_config, out / CONFIG_FILE)
    return out


def read_config(directory: str | os.PathLike) -> ModelConfig:
    """The ModelConfig stored in ``directory/config.json``, with clear errors."""
    path = Path(directory) / CONFIG_FILE
    if not path.is_file():
        raise ValueError(f"{path}: no model config found")
    check_config_size(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a valid JSON config ({exc})") from exc
    if not isinstance(data, dict) or data.pop("model_type", None) != "transformer-explorer":
        raise ValueError(f"{path}: not a Transformer Explorer model config")
    try:
        return ModelConfig.from_dict(data)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from exc


def load_model(
    directory: str | os.PathLike, device: str | torch.device = "cpu"
) -> TransformerModel:
    """Rebuild the model saved by ``save_model`` (weights checked name by name)."""
    cfg = read_config(directory)
    path = Path(directory) / WEIGHTS_FILE
    if not path.is_file():
        raise ValueError(f"{path}: weights file is missing")
    model = build_model(cfg)
    try:
        missing, unexpected = _load_weights(model, str(path), strict=False, device=str(device))
    except Exception as exc:  # safetensors raises its own error types for corrupt files
        raise ValueError(f"{path}: cannot read weights ({exc})") from exc
    if missing or unexpected:
        raise ValueError(
            f"{path}: weights do not match the config "
            f"(missing: {sorted(missing)[:5]}, unexpected: {sorted(unexpected)[:5]})"
        )
    return model.to(device).eval()
