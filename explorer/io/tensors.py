"""Read the tensors of a Hugging Face folder by name, lazily and safely.

``TensorSource(folder)`` opens ``model.safetensors``, sharded safetensors listed in
``model.safetensors.index.json``, or, when there is no safetensors file, a
``pytorch_model.bin`` through ``torch.load(weights_only=True)`` (never a full pickle).
Every failure raises ``CheckpointError`` naming the file and the tensor.

Safetensors files are read by ``explorer.core.weights_file``: each tensor into memory of
its own, so the model built from them is the process's one copy of the weights and no
mapping of the file outlives the loading (``safe_open`` would hand out views of a
mapping of the whole file, kept alive by every weight that is not copied).
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from explorer.core.weights_file import WeightsFile
from explorer.io.errors import CheckpointError

SAFETENSORS = "model.safetensors"
SAFETENSORS_INDEX = "model.safetensors.index.json"
PYTORCH_BIN = "pytorch_model.bin"
PYTORCH_INDEX = "pytorch_model.bin.index.json"


def _read_index(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        weight_map = data["weight_map"]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path}: not a valid shard index ({exc})") from exc
    if not isinstance(weight_map, dict) or not weight_map:
        raise CheckpointError(f"{path}: the shard index lists no tensors")
    return {str(k): str(v) for k, v in weight_map.items()}


def _open_safetensors(path: Path) -> WeightsFile:
    if not path.is_file():
        raise CheckpointError(f"{path}: weights file is missing")
    try:
        return WeightsFile(path)
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: damaged or truncated safetensors file ({exc})") from exc


def _load_bin(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise CheckpointError(f"{path}: weights file is missing")
    try:
        data = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"{path}: refused by torch.load(weights_only=True): the file holds Python "
            "objects besides tensors, and running its pickle could execute code. "
            "Convert it to model.safetensors with a tool you trust."
        ) from exc
    except Exception as exc:  # zip errors, EOF, runtime errors of a damaged archive
        raise CheckpointError(f"{path}: cannot read PyTorch weights ({exc})") from exc
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise CheckpointError(f"{path}: not a state dict of tensors")
    return data


class TensorSource:
    """The tensors of one model folder: ``keys()``, ``shape(name)``, ``get(name, shape)``."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self._files: dict[str, Path] = {}  # tensor name -> file
        self._handles: dict[Path, WeightsFile] = {}
        self._tensors: dict[str, torch.Tensor] = {}  # for .bin files, loaded at once
        self.dtypes: set[str] = set()
        self.used: set[str] = set()
        self._open()

    # -- opening -----------------------------------------------------------------------
    def _open(self) -> None:
        single, index = self.folder / SAFETENSORS, self.folder / SAFETENSORS_INDEX
        if single.is_file():
            self._add_safetensors(single)
        elif index.is_file():
            for name, file in _read_index(index).items():
                self._files[name] = self.folder / file
            for path in sorted(set(self._files.values())):
                handle = _open_safetensors(path)
                listed = {n for n, p in self._files.items() if p == path}
                missing = sorted(listed - set(handle.keys()))
                if missing:
                    raise CheckpointError(
                        f"{path}: tensor {missing[0]!r} is listed in {index.name} "
                        "but not in this shard"
                    )
                self._handles[path] = handle
        elif (self.folder / PYTORCH_BIN).is_file() or (self.folder / PYTORCH_INDEX).is_file():
            self._add_bins()
        else:
            raise CheckpointError(
                f"{self.folder}: no weights found (looked for {SAFETENSORS}, "
                f"{SAFETENSORS_INDEX}, {PYTORCH_BIN})"
            )

    def _add_safetensors(self, path: Path) -> None:
        handle = _open_safetensors(path)
        self._handles[path] = handle
        for name in handle.keys():
            self._files[name] = path

    def _add_bins(self) -> None:
        index = self.folder / PYTORCH_INDEX
        files = sorted(set(_read_index(index).values())) if index.is_file() else [PYTORCH_BIN]
        for file in files:
            path = self.folder / file
            for name, tensor in _load_bin(path).items():
                self._files[name] = path
                self._tensors[name] = tensor

    # -- reading -----------------------------------------------------------------------
    def keys(self) -> list[str]:
        return list(self._files)

    def __contains__(self, name: str) -> bool:
        return name in self._files

    def file_of(self, name: str) -> Path:
        return self._files[name]

    def shape(self, name: str) -> tuple[int, ...]:
        if name in self._tensors:
            return tuple(self._tensors[name].shape)
        return self._handles[self._files[name]].shape(name)

    def find_prefix(self, anchor: str, prefixes: tuple[str, ...]) -> str | None:
        """The first of ``prefixes`` for which ``prefix + anchor`` is a tensor here."""
        for prefix in prefixes:
            if prefix + anchor in self._files:
                return prefix
        return None

    def get(self, name: str, shape: tuple[int, ...] | None = None, what: str = "",
            transform: Callable[[torch.Tensor], Any] | None = None) -> Any:
        """Tensor ``name`` as float32, its shape checked against ``shape``; with
        ``transform``, what it makes of that tensor (e.g. its transpose, made contiguous).

        A float32 tensor kept as it is is read straight into new memory; one that is
        converted or transformed is read through a mapping of the file's pages
        (``WeightsFile.mapped``), so that only the result takes heap memory."""
        where = f" ({what})" if what else ""
        if name not in self._files:
            raise CheckpointError(f"{self._describe_files()}: missing tensor {name!r}{where}")
        path = self._files[name]
        got = self.shape(name)
        if shape is not None and tuple(got) != tuple(shape):
            raise CheckpointError(
                f"{path}: tensor {name!r}{where} has shape {tuple(got)}, "
                f"expected {tuple(shape)} from config.json"
            )
        try:
            if name in self._tensors:
                tensor = self._tensors[name]
            else:
                handle = self._handles[path]
                kept = transform is None and handle.dtype(name) == torch.float32
                tensor = handle.read(name) if kept else handle.mapped(name)
        except (OSError, ValueError) as exc:  # a file cut or changed since it was opened
            raise CheckpointError(
                f"{path}: cannot read tensor {name!r} (damaged or truncated file: {exc})"
            ) from exc
        self.used.add(name)
        self.dtypes.add(str(tensor.dtype).replace("torch.", ""))
        if not tensor.is_floating_point():
            raise CheckpointError(f"{path}: tensor {name!r} holds {tensor.dtype}, not floats")
        tensor = tensor.to(torch.float32)
        return tensor if transform is None else transform(tensor)

    def unused(self) -> list[str]:
        return sorted(set(self._files) - self.used)

    def _describe_files(self) -> str:
        files = sorted({p.name for p in self._files.values()})
        if len(files) == 1:
            return str(self.folder / files[0])
        return f"{self.folder} ({', '.join(files)})"
