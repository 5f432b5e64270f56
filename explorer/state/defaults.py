"""Which model the window opens on, and opening others.

A bundled trained model of the architecture (``resources/models/<name>/`` with
``config.json``, ``model.safetensors`` and ``tokenizer.json``) is used when one exists;
otherwise a seeded random model of the small default size with a character tokenizer
trained on the bundled grammar corpus. ``LoadedModel.label`` says which it is.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import torch

from explorer.core import ModelConfig, build_model
from explorer.state.inputs import Tokenizer

ARCHS = ("decoder", "encoder", "encoder-decoder")
DEFAULT_SIZES: dict[str, Any] = {"d_e": 64, "n_heads": 4, "n_layers": 2, "l_max": 64}
DEFAULT_SEED = 0
DEFAULT_TEXT = "the wise girl follows the sad witch ."
DEFAULT_CONTEXT = "the red girl sees a red girl"
_FALLBACK_CORPUS = (
    "the girl sees a cat .\nthe wise king helps the dog .\nmany wizards carry the pear .\n"
    "a boy who sings follows the red witch .\n"
)


def default_text(arch: str) -> str:
    """The text x a fresh window shows for ``arch``: an English-like grammar sentence, or
    for the encoder-decoder the bundled toy translation of ``DEFAULT_CONTEXT`` (the target
    language the bundled seq2seq model writes)."""
    if arch != "encoder-decoder":
        return DEFAULT_TEXT
    try:
        from explorer.data import translate

        return translate(DEFAULT_CONTEXT)
    except (ValueError, KeyError):  # no bundled data: the grammar sentence
        return DEFAULT_TEXT


@dataclass
class LoadedModel:
    """A model ready to show: weights, tokenizer, and a sentence saying what it is."""

    model: Any  # explorer.core TransformerModel, in eval mode on the CPU
    tokenizer: Tokenizer
    label: str  # "untrained, random weights (seed 0)", "trained: decoder (bundled)" ...
    source: str  # "random", "bundled" or "folder"
    path: Path | None = None
    notes: tuple[str, ...] = ()  # what the loader wants the user to know (no MLM head ...)
    problems: tuple[str, ...] = ()  # what went wrong getting it, for the window to show

    @property
    def cfg(self) -> ModelConfig:
        return self.model.cfg

    @property
    def trained(self) -> bool:
        return self.source != "random"


def bundled_models_dir() -> Path | None:
    """``explorer.resources/models`` as a folder, or None when nothing is bundled."""
    try:
        root = files("explorer.resources") / "models"
    except ModuleNotFoundError:
        return None
    path = Path(str(root))
    return path if path.is_dir() else None


def bundled_models() -> dict[str, Path]:
    """name -> folder of each bundled trained model (a complete one only)."""
    root = bundled_models_dir()
    if root is None:
        return {}
    found = {}
    for folder in sorted(root.iterdir()):
        needed = ("config.json", "model.safetensors", "tokenizer.json")
        if folder.is_dir() and all((folder / f).is_file() for f in needed):
            found[folder.name] = folder
    return found


def _folder_arch(folder: Path) -> str | None:
    try:
        data = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data.get("arch") if isinstance(data, dict) else None


# The bundled model each architecture opens on (the classifier is an encoder too).
PREFERRED = {"decoder": "default-decoder", "encoder": "default-encoder",
             "encoder-decoder": "default-seq2seq"}


def find_bundled(arch: str) -> Path | None:
    """The bundled trained model of ``arch``: one named after it first, else any of that arch."""
    models = bundled_models()
    for name in (PREFERRED.get(arch), arch):
        if name in models and _folder_arch(models[name]) == arch:
            return models[name]
    for folder in models.values():
        if _folder_arch(folder) == arch:
            return folder
    return None


def corpus_lines() -> list[str]:
    """Text for the default character tokenizer: the bundled grammar and translation data."""
    try:
        from explorer.data import load_lines, load_pairs

        lines = list(load_lines("grammar"))
        for z, x in load_pairs("translation"):
            lines += [z, x]
        return lines
    except (OSError, ValueError, KeyError):  # no bundled data
        return _FALLBACK_CORPUS.splitlines()


@functools.lru_cache(maxsize=1)
def default_tokenizer() -> Tokenizer:
    """A character tokenizer trained on ``corpus_lines()`` (cached: it is deterministic)."""
    from explorer.tokenize import train_tokenizer

    return train_tokenizer("char", corpus_lines())


def random_model(
    arch: str = "decoder",
    seed: int = DEFAULT_SEED,
    tokenizer: Tokenizer | None = None,
    **overrides: Any,
) -> LoadedModel:
    """A freshly initialised model (``torch.manual_seed(seed)``) of the default size."""
    if arch not in ARCHS:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHS)}")
    tok = tokenizer if tokenizer is not None else default_tokenizer()
    sizes = {**DEFAULT_SIZES, **{k: v for k, v in overrides.items() if v is not None}}
    cfg = ModelConfig(arch=arch, vocab_size=int(tok.vocab_size), **sizes)
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = build_model(cfg).eval()
    finally:
        torch.random.set_rng_state(gen_state)
    return LoadedModel(model, tok, f"untrained, random weights (seed {seed})", "random")


def load_folder(path: str | os.PathLike, source: str = "folder") -> LoadedModel:
    """A saved model folder: ours (config.json + model.safetensors + tokenizer.json), a
    training run's checkpoint, or a Hugging Face folder when ``explorer.io`` can map it.

    Raises ValueError with a message for the window when the folder cannot be opened.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise ValueError(f"{folder}: not a folder")
    from explorer.io import open_model

    try:
        model, tokenizer, info = open_model(folder)
    except (ValueError, OSError, KeyError) as exc:
        raise ValueError(f"could not open {folder}: {exc}") from exc
    info = info if isinstance(info, dict) else {}
    name = info.get("name") or info.get("family") or folder.name
    if info.get("family") and info.get("format") == "huggingface":
        params = info.get("parameters")
        size = f", {params / 1e6:.1f} M parameters" if params else ""
        name = f"{info['family']} {name}{size}"
        if info.get("extensions"):  # Llama-style: the paper's Algorithm 10, extended
            name += f", Algorithm {info.get('algorithm')} + extensions"
    notes = tuple(str(n) for n in info.get("notes") or ())
    if tokenizer is None:
        raise ValueError(f"{folder}: the model has no tokenizer.json, so text cannot be fed")
    model.eval()
    where = "bundled" if source == "bundled" else f"from …/{folder.name}"
    if source != "bundled" and folder.name in name:  # the name already says which folder
        where = "folder"
    return LoadedModel(model, tokenizer, f"trained: {name} ({where})", source, folder, notes)


def default_model(arch: str = "decoder", seed: int = DEFAULT_SEED) -> LoadedModel:
    """The model the window shows for ``arch``: the bundled trained one, else a random one.

    A bundled model that cannot be loaded is not hidden: the random model shown instead
    says so in its label, and ``problems`` gives the reason (the window shows it)."""
    folder = find_bundled(arch)
    if folder is None:
        return random_model(arch, seed)
    try:
        return load_folder(folder, source="bundled")
    except ValueError as exc:
        loaded = random_model(arch, seed)
        loaded.label += ", because the bundled model failed to load"
        loaded.problems = (f"The bundled {arch} model could not be loaded, so random weights "
                           f"are shown: {exc}",)
        return loaded
