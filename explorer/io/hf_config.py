"""Read a Hugging Face ``config.json`` and translate its common fields, with clear errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from explorer.core.serialization import check_config_size
from explorer.io.errors import CheckpointError

CONFIG_FILE = "config.json"
HUB_MODEL_PREFIX = "models--"  # the hub's cache: models--ORG--NAME/snapshots/<commit>/

# Hugging Face activation names (transformers.activations.ACT2FN) -> ModelConfig.activation.
ACTIVATIONS = {
    "gelu": "gelu",
    "gelu_new": "gelu_tanh",
    "gelu_pytorch_tanh": "gelu_tanh",
    "gelu_fast": "gelu_tanh",
    "relu": "relu",
    "silu": "silu",
    "swish": "silu",
}


def hub_repo_id(folder: Path) -> str | None:
    """"ORG/NAME" when ``folder`` is a snapshot in the hub's cache
    (``models--ORG--NAME/snapshots/<commit>``), else None."""
    repo = folder.parent.parent.name
    if folder.parent.name != "snapshots" or not repo.startswith(HUB_MODEL_PREFIX):
        return None
    return repo[len(HUB_MODEL_PREFIX):].replace("--", "/")


def read_json_config(folder: Path) -> dict[str, Any]:
    """``folder/config.json`` as a dict; CheckpointError when absent or not JSON."""
    if not folder.exists():
        raise CheckpointError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise CheckpointError(f"{folder}: not a folder (choose the folder that holds config.json)")
    path = folder / CONFIG_FILE
    if not path.is_file():
        if not any(folder.iterdir()):
            raise CheckpointError(f"{folder}: the folder is empty (no {CONFIG_FILE}, no weights)")
        raise CheckpointError(f"{path}: missing; a model folder needs its {CONFIG_FILE}")
    try:
        check_config_size(path)
    except ValueError as exc:
        raise CheckpointError(str(exc)) from None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


class HFConfig:
    """Typed access to the fields of one ``config.json``; errors name the field."""

    def __init__(self, data: dict[str, Any], path: Path) -> None:
        self.data = data
        self.path = path

    @property
    def model_type(self) -> str:
        return str(self.data.get("model_type", ""))

    @property
    def architectures(self) -> list[str]:
        value = self.data.get("architectures") or []
        return [str(a) for a in value] if isinstance(value, list) else [str(value)]

    def int(self, key: str, default: int | None = None) -> int:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise CheckpointError(
                f"{self.path}: field {key!r} must be a non-negative integer, not {value!r}"
            )
        return value

    def float(self, key: str, default: float) -> float:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise CheckpointError(f"{self.path}: field {key!r} must be a number, not {value!r}")
        return float(value)

    def bool(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        return default if value is None else bool(value)

    def activation(self, key: str, default: str) -> str:
        name = self.data.get(key, default)
        if name not in ACTIVATIONS:
            raise CheckpointError(
                f"{self.path}: activation {key}={name!r} is not supported "
                f"(supported: {', '.join(sorted(ACTIVATIONS))})"
            )
        return ACTIVATIONS[name]

    def require(self, key: str, allowed: tuple[Any, ...], default: Any = None) -> Any:
        """A field whose other values would change the algorithm: refuse them clearly."""
        value = self.data.get(key, default)
        if value not in allowed:
            raise CheckpointError(
                f"{self.path}: {key}={value!r} is not supported (only {allowed!r} maps onto "
                "the paper's algorithms)"
            )
        return value


class WeightMap:
    """Our parameter name -> tensor, filled from checkpoint tensors with shape checks."""

    def __init__(self, source, prefix: str = "") -> None:
        self.source = source
        self.prefix = prefix
        self.state: dict[str, torch.Tensor] = {}
        self.origin: dict[str, str] = {}  # our name -> checkpoint tensor name

    def read(self, name: str, shape: tuple[int, ...], what: str, transform=None):
        """Checkpoint tensor ``prefix + name`` as float32 (shape checked), or what
        ``transform`` makes of it (``TensorSource.get``: read without a heap copy)."""
        return self.source.get(self.prefix + name, shape, what, transform)

    def put(self, ours: str, name: str, shape: tuple[int, ...], what: str) -> None:
        """Copy checkpoint tensor ``prefix + name`` (shape checked) to our ``ours``."""
        self.set(ours, self.read(name, shape, what), self.prefix + name)

    def set(self, ours: str, tensor: torch.Tensor, origin: str) -> None:
        self.state[ours] = tensor
        self.origin[ours] = origin

    def linear(
        self, ours: str, name: str, d_out: int, d_in: int, what: str, bias: bool = True
    ) -> None:
        """An nn.Linear stored as torch does: weight (d_out, d_in), bias (d_out,)."""
        self.put(f"{ours}.weight", f"{name}.weight", (d_out, d_in), what)
        if bias:
            self.put(f"{ours}.bias", f"{name}.bias", (d_out,), what + " bias")

    def norm(self, ours: str, name: str, d: int, what: str, legacy: bool = False) -> None:
        """A layer norm: γ, β from ``weight``/``bias`` (or old ``gamma``/``beta``)."""
        gamma, beta = f"{name}.weight", f"{name}.bias"
        if legacy and self.prefix + gamma not in self.source:
            gamma, beta = f"{name}.gamma", f"{name}.beta"
        self.put(f"{ours}.gamma", gamma, (d,), what + " γ")
        self.put(f"{ours}.beta", beta, (d,), what + " β")
