"""A model on disk: ``config.json`` plus ``model.safetensors`` (never a pickle)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors.torch import save_model as _save_weights
from torch import nn

from explorer.core.budget import check_model_fits, meta_model
from explorer.core.config import ModelConfig
from explorer.core.embedding import PositionalEmbedding
from explorer.core.models import TransformerModel
from explorer.core.weights_file import WeightsFile

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


def fixed_tables(model: TransformerModel) -> None:
    """Compute the tables that are not stored (sinusoidal W_p) of a model built on the
    meta device."""
    for module in model.modules():
        if isinstance(module, PositionalEmbedding) and module.kind == "sinusoidal":
            module.table = PositionalEmbedding(model.cfg).table


def empty_model(cfg: ModelConfig) -> TransformerModel:
    """The model of ``cfg`` with uninitialised weights (no time spent on a random
    initialisation that loading overwrites) and its fixed tables computed; ModelTooLarge
    when it would not fit in memory."""
    check_model_fits(cfg)
    model = meta_model(cfg)
    fresh: dict[int, torch.Tensor] = {}
    kept = []  # the meta tensors, alive until the end so that no id is reused
    for module in model.modules():  # not to_empty(): it would untie W_u from W_e
        for table in (module._parameters, module._buffers):
            for key, t in table.items():
                if t is None or not t.is_meta:
                    continue
                if id(t) not in fresh:
                    kept.append(t)
                    empty = torch.empty_like(t, device="cpu")
                    fresh[id(t)] = (nn.Parameter(empty, t.requires_grad)
                                    if isinstance(t, nn.Parameter) else empty)
                table[key] = fresh[id(t)]
    fixed_tables(model)
    return model


def read_weights(model: TransformerModel, path: str | os.PathLike) -> None:
    """Read ``path`` (safetensors) into the model's own parameters and buffers, each
    tensor straight into its memory: no second copy, no mapping of the file kept.

    Tied parameters (W_u = W_e) are one tensor, read once under either name. ValueError
    if the names do not match the model's, naming what is missing and what is extra."""
    try:
        file = WeightsFile(path)
    except ValueError as exc:
        raise ValueError(f"{path}: cannot read weights ({exc})") from exc
    owners: dict[int, tuple[list[str], torch.Tensor]] = {}
    named = [*model.named_parameters(remove_duplicate=False),
             *model.named_buffers(remove_duplicate=False)]
    persistent = set(model.state_dict(keep_vars=True))
    for name, tensor in named:
        if name in persistent:
            owners.setdefault(id(tensor), ([], tensor))[0].append(name)
    by_name = {name: tensor for names, tensor in owners.values() for name in names}
    unexpected = [k for k in file.keys() if k not in by_name]
    missing = [names[0] for names, _ in owners.values() if not any(n in file for n in names)]
    if missing or unexpected:
        raise ValueError(f"{path}: weights do not match the config "
                         f"(missing: {sorted(missing)[:5]}, unexpected: {sorted(unexpected)[:5]})")
    try:
        for names, tensor in owners.values():
            file.read(next(n for n in names if n in file), tensor.data)
    except ValueError as exc:
        raise ValueError(f"{path}: cannot read weights ({exc})") from exc


def load_model(
    directory: str | os.PathLike, device: str | torch.device = "cpu"
) -> TransformerModel:
    """Rebuild the model saved by ``save_model`` (weights checked name by name), each
    weight read into the model's own tensor (``read_weights``)."""
    cfg = read_config(directory)
    path = Path(directory) / WEIGHTS_FILE
    if not path.is_file():
        raise ValueError(f"{path}: weights file is missing")
    model = empty_model(cfg)
    try:
        read_weights(model, path)  # its ValueErrors name the file
    except OSError as exc:
        raise ValueError(f"{path}: cannot read weights ({exc})") from exc
    return model.to(device).eval()
