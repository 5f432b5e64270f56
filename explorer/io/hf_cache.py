"""The Hugging Face models already in this machine's cache, found offline.

``transformers`` and ``huggingface_hub`` keep what they download in the hub's cache:
``<cache>/models--ORG--NAME/refs/main`` holds the commit of the current snapshot, and
``<cache>/models--ORG--NAME/snapshots/<commit>/`` is a model folder (config.json, weights,
tokenizer files). ``cached_models()`` lists each model's current snapshot and says whether it
opens here, from config.json alone (the family's mapping, no weights read)::

    for model in cached_models():
        print(model.label, model.reason or "")   # "gpt2 (GPT-2, 124 M)"
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from explorer.io.errors import CheckpointError
from explorer.io.folder_tokenizer import TOKENIZER_JSON
from explorer.io.hf_config import CONFIG_FILE, HUB_MODEL_PREFIX, hub_repo_id, read_json_config
from explorer.io.pretrained import describe_pretrained
from explorer.io.tensors import PYTORCH_BIN, PYTORCH_INDEX, SAFETENSORS, SAFETENSORS_INDEX

MAIN_REF = "main"
# what explorer.io.folder_tokenizer makes a tokenizer from
TOKENIZER_FILES = ((TOKENIZER_JSON,), ("vocab.json", "merges.txt"), ("vocab.txt",))


def cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where the hub keeps models: ``HF_HUB_CACHE``, else ``HF_HOME/hub``, else
    ``$XDG_CACHE_HOME/huggingface/hub`` (``~/.cache/huggingface/hub``), as huggingface_hub."""
    env = os.environ if environ is None else environ
    if env.get("HF_HUB_CACHE"):
        return Path(env["HF_HUB_CACHE"]).expanduser()
    if env.get("HF_HOME"):
        return Path(env["HF_HOME"]).expanduser() / "hub"
    cache = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return cache.expanduser() / "huggingface" / "hub"


@dataclass(frozen=True)
class CachedModel:
    """One cached model: its current snapshot folder and whether it opens here."""

    repo_id: str  # "openai-community/gpt2", or "gpt2" for a model without an organisation
    folder: Path  # the snapshot: open it like any model folder
    model_type: str = ""
    family: str = ""  # "GPT-2"; empty when the family is not supported
    parameters: int | None = None
    reason: str | None = None  # why it cannot be opened; None when it can

    @property
    def supported(self) -> bool:
        return self.reason is None

    @property
    def label(self) -> str:
        """A menu line: "gpt2 (GPT-2, 124 M)" or "t5-small — model_type 't5' is not
        supported"."""
        if self.reason is not None:
            return f"{self.repo_id} — {self.reason.split(' (')[0]}"
        size = f", {_size(self.parameters)}" if self.parameters else ""
        return f"{self.repo_id} ({self.family}{size})"


def _size(parameters: int) -> str:
    for scale, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if parameters >= scale:
            return f"{parameters / scale:.3g} {unit}"
    return str(parameters)


def current_snapshot(model_dir: Path) -> Path | None:
    """The snapshot ``refs/main`` names when it is there, else the newest one; None if none."""
    snapshots = model_dir / "snapshots"
    ref = model_dir / "refs" / MAIN_REF
    if ref.is_file():
        try:
            named = snapshots / ref.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            named = None
        if named is not None and named.name and named.is_dir():
            return named
    try:
        folders = [p for p in snapshots.iterdir() if p.is_dir()]
    except OSError:
        return None
    return max(folders, key=lambda p: p.stat().st_mtime, default=None)


def _shards_present(index: Path) -> bool:
    try:
        files = set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values())
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
        return False
    return bool(files) and all((index.parent / str(f)).is_file() for f in files)


def has_weights(folder: Path) -> bool:
    """Whether the snapshot holds complete weights (a cache can hold a config alone, or a
    download cut short: its links then point at missing blobs)."""
    if (folder / SAFETENSORS).is_file() or (folder / PYTORCH_BIN).is_file():
        return True
    return any(_shards_present(folder / name) for name in (SAFETENSORS_INDEX, PYTORCH_INDEX)
               if (folder / name).is_file())


def has_tokenizer(folder: Path) -> bool:
    """Whether the snapshot holds files a tokenizer is made from (the window feeds text)."""
    return any(all((folder / name).is_file() for name in names) for names in TOKENIZER_FILES)


def _strip_path(message: str, folder: Path) -> str:
    """A CheckpointError's message without the leading file or folder it names."""
    for prefix in (str(folder / CONFIG_FILE), str(folder)):
        if message.startswith(prefix + ": "):
            return message[len(prefix) + 2:]
    return message


@lru_cache(maxsize=256)
def _mapping(folder: Path, config_mtime_ns: int) -> tuple[str, str, int | None, str | None]:
    """``(model_type, family, parameters, refusal)`` from config.json, through the family's
    own mapping (remembered until config.json changes: it builds a meta-device model)."""
    try:
        model_type = str(read_json_config(folder).get("model_type") or "")
    except CheckpointError as exc:
        return "", "", None, _strip_path(str(exc), folder)
    try:
        info = describe_pretrained(folder)
    except CheckpointError as exc:
        return model_type, "", None, _strip_path(str(exc), folder)
    return model_type, str(info.get("family") or model_type), info.get("parameters"), None


def describe_snapshot(folder: Path) -> CachedModel:
    """The entry of one snapshot folder: what it is, or why it cannot be opened."""
    repo_id = hub_repo_id(folder) or folder.name
    try:
        mtime = (folder / CONFIG_FILE).stat().st_mtime_ns
    except OSError:
        mtime = -1
    model_type, family, parameters, reason = _mapping(folder, mtime)
    if reason is None and not has_weights(folder):
        reason = f"no weights downloaded ({SAFETENSORS} or {PYTORCH_BIN})"
    if reason is None and not has_tokenizer(folder):
        reason = ("no tokenizer downloaded "
                  f"({TOKENIZER_JSON}, vocab.json + merges.txt or vocab.txt)")
    if reason is not None:
        return CachedModel(repo_id, folder, model_type, reason=reason)
    return CachedModel(repo_id, folder, model_type, family, parameters)


def cached_models(cache: Path | None = None) -> list[CachedModel]:
    """Every model in the hub's cache (``cache_dir()`` by default), sorted by name, with
    the snapshot to open and why it cannot be opened, if it cannot. Reads config.json only."""
    root = cache_dir() if cache is None else Path(cache)
    try:
        model_dirs = sorted(p for p in root.iterdir()
                            if p.name.startswith(HUB_MODEL_PREFIX) and p.is_dir())
    except OSError:
        return []
    found = []
    for model_dir in model_dirs:
        snapshot = current_snapshot(model_dir)
        if snapshot is None:
            continue
        found.append(describe_snapshot(snapshot))
    return sorted(found, key=lambda m: m.repo_id.lower())
