"""Open a local Hugging Face model folder on the paper's Algorithms 8-10.

``load_pretrained(folder)`` returns ``(model, tokenizer)``; ``describe_pretrained``
reads only config.json; ``open_model(folder)`` opens our own folders as well and
returns ``(model, tokenizer, info)``, the one call the window and the commands need.
Every difference between a family and the paper is a ModelConfig variant chosen here:
the algorithms in ``explorer.core`` run unchanged.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from torch import nn

from explorer.core import (
    ModelConfig,
    TransformerModel,
    load_model,
    read_config,
)
from explorer.core.budget import ModelTooLarge, check_model_fits, meta_model
from explorer.core.finite import describe_nonfinite, nonfinite_tensors
from explorer.core.serialization import fixed_tables
from explorer.io import bert, encoders, gpt2, llama, opt, seq2seq
from explorer.io.errors import CheckpointError
from explorer.io.folder_tokenizer import TOKENIZER_JSON, folder_tokenizer
from explorer.io.hf_config import CONFIG_FILE, HFConfig, hub_repo_id, read_json_config
from explorer.io.tensors import TensorSource

FAMILIES: dict[str, ModuleType] = {
    "gpt2": gpt2,
    "bert": bert,
    "bart": seq2seq,
    "marian": seq2seq,
    "roberta": encoders,
    "distilbert": encoders,
    "opt": opt,
    "llama": llama,
    "qwen2": llama,
}
# Families whose config needs the tensors (to see whether a head is stored).
_READS_TENSORS = (bert, encoders)
OWN_MODEL_TYPE = "transformer-explorer"
RUN_CHECKPOINT = "checkpoint"  # a training run folder keeps its model here
GENERIC_NAMES = ("model", "checkpoint", "snapshot", "weights")
NONFINITE_NOTE = "the weights hold NaN or infinite values"


def _family_module(hf: HFConfig) -> ModuleType:
    module = FAMILIES.get(hf.model_type)
    if module is None:
        kind = repr(hf.model_type) if hf.model_type else "none given"
        raise CheckpointError(
            f"{hf.path}: model_type {kind} is not supported "
            f"(supported: {', '.join(sorted(FAMILIES))})"
        )
    unsupported = [a for a in hf.architectures if a not in module.ARCHITECTURES]
    if unsupported:
        raise CheckpointError(
            f"{hf.path}: architecture {unsupported[0]} is not supported "
            f"(supported: {', '.join(module.ARCHITECTURES)})"
        )
    return module


def _family_name(hf: HFConfig, module: ModuleType) -> str:
    family = module.FAMILY
    return family[hf.model_type] if isinstance(family, dict) else family


def _model_config(hf: HFConfig, module: ModuleType, source: TensorSource | None):
    if module in _READS_TENSORS:
        return module.model_config(hf, source)
    return module.model_config(hf)


def _display_name(folder: Path) -> str:
    folder = folder.resolve()
    repo = hub_repo_id(folder)
    if repo is not None:
        return repo
    if folder.name.lower() in GENERIC_NAMES and folder.parent.name:
        return f"{folder.parent.name}/{folder.name}"
    return folder.name


def _size_info(cfg: ModelConfig) -> dict[str, Any]:
    """Heads and layers (per stack for Algorithm 8), key/value heads and extensions."""
    if cfg.arch == "encoder-decoder":
        heads: Any = {"encoder": cfg.n_enc_heads, "decoder": cfg.n_dec_heads}
        layers: Any = {"encoder": cfg.n_enc_layers, "decoder": cfg.n_dec_layers}
        if cfg.n_enc_heads == cfg.n_dec_heads:
            heads = cfg.n_heads
    else:
        heads, layers = cfg.n_heads, cfg.n_layers
    return {"n_heads": heads, "n_kv_heads": cfg.n_kv_heads, "n_layers": layers,
            "extensions": cfg.extensions}


def model_label(info: dict[str, Any]) -> str:
    """One line naming the model, its family and algorithm, e.g.
    "SmolLM-135M · Llama → DTransformer (Algorithm 10) + 3 extensions"."""
    extensions = info.get("extensions") or []
    more = ""
    if extensions:
        more = f" + {len(extensions)} extension{'s' if len(extensions) > 1 else ''}"
    family = info.get("family") or ""
    name = info.get("name") or family
    head = f"{name} · {family}" if family and family not in name else name
    return (f"{head} → {info.get('algorithm_name', '')} (Algorithm {info.get('algorithm')})"
            f"{more}")


def _info(
    folder: Path, hf: HFConfig, module: ModuleType, cfg: ModelConfig, notes: list[str]
) -> dict[str, Any]:
    """The facts a window title, a status bar or ``inspect --json`` shows."""
    return {
        "name": _display_name(folder),
        "folder": str(folder),
        "format": "huggingface",
        "family": _family_name(hf, module),
        "model_type": hf.model_type,
        "architecture": (hf.architectures or [""])[0],
        "base_model": str(hf.data.get("_name_or_path") or ""),
        "arch": cfg.arch,
        "algorithm": cfg.algorithm,
        "algorithm_name": cfg.algorithm_name,
        "parameters": None,
        "vocab_size": cfg.vocab_size,
        "l_max": cfg.l_max,
        "d_e": cfg.d_e,
        **_size_info(cfg),
        "tokenizer": None,
        "add_special_tokens": True,
        "notes": list(notes),
    }


def _parameter_count(cfg: ModelConfig) -> int:
    return meta_model(cfg).num_parameters()


def describe_pretrained(folder: str | os.PathLike) -> dict[str, Any]:
    """The info dict of a model folder from its config.json alone (no weights read).

    Works for Hugging Face folders and for our own (and training runs); ``parameters``
    is counted on a meta-device model, ``load_seconds`` is absent.
    """
    path = Path(folder)
    own = _own_folder(path) if path.is_dir() else None
    if own is not None:
        try:
            cfg = read_config(own)
        except ValueError as exc:
            raise CheckpointError(str(exc)) from exc
        return _own_info(own, cfg, _parameter_count(cfg), None, [])
    hf = HFConfig(read_json_config(path), path / CONFIG_FILE)
    module = _family_module(hf)
    cfg, notes = _model_config(hf, module, None)
    info = _info(path, hf, module, cfg, notes)
    info["parameters"] = _parameter_count(cfg)
    info["label"] = model_label(info)
    return info


def _build_with(cfg: ModelConfig, maps, source: TensorSource) -> TransformerModel:
    """The model of ``cfg`` holding the mapped tensors; every parameter filled, shapes checked.

    Built on the meta device, so no time goes into a random initialisation that the
    checkpoint would overwrite; tied parameters (W_u = W_e) stay one Parameter.
    """
    model = meta_model(cfg)
    expected = model.state_dict()
    groups: dict[int, list[str]] = {}
    for name, param in model.named_parameters(remove_duplicate=False):
        groups.setdefault(id(param), []).append(name)
    state: dict[str, torch.Tensor] = {}
    for names in groups.values():
        given = [n for n in names if n in maps.state]
        if not given:
            raise CheckpointError(f"{source.folder}: no checkpoint tensor maps onto {names[0]}")
        tensor = maps.state[given[0]]
        if tuple(tensor.shape) != tuple(expected[names[0]].shape):
            origin = maps.origin.get(given[0], "?")
            raise CheckpointError(
                f"{source.folder}: tensor {origin!r} gives {given[0]} the shape "
                f"{tuple(tensor.shape)}, expected {tuple(expected[names[0]].shape)}"
            )
        param = nn.Parameter(tensor.contiguous())
        for name in names:
            state[name] = param
    model.load_state_dict(state, strict=True, assign=True)
    fixed_tables(model)
    left = [n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    if left:
        raise CheckpointError(f"{source.folder}: nothing filled {', '.join(left[:5])}")
    return model


def _weight_notes(module: ModuleType, source: TensorSource, cfg: ModelConfig) -> list[str]:
    notes = []
    unused = [n for n in source.unused() if not n.endswith(module.IGNORED_SUFFIXES)]
    if unused:
        shown = ", ".join(unused[:6]) + (f" and {len(unused) - 6} more" if len(unused) > 6 else "")
        notes.append(f"not used by Algorithm {cfg.algorithm}: {shown}")
    stored = sorted(source.dtypes - {"float32"})
    if stored:
        notes.append(f"weights stored as {', '.join(stored)}, converted to float32")
    return notes


def _load_hf(folder: Path, device: str | torch.device):
    hf = HFConfig(read_json_config(folder), folder / CONFIG_FILE)
    module = _family_module(hf)
    source = TensorSource(folder)
    cfg, notes = _model_config(hf, module, source)
    cfg = cfg.replace(
        extra={"source": "huggingface", "model_type": hf.model_type, "name": _display_name(folder)}
    )
    try:
        check_model_fits(cfg)  # before a tensor is read
    except ModelTooLarge as exc:
        raise CheckpointError(f"{folder}: {exc}") from None
    maps = module.load_weights(hf, cfg, source)
    model = _build_with(cfg, maps, source)
    notes += _weight_notes(module, source, cfg) + nonfinite_notes(model)
    tokenizer, tok_note = folder_tokenizer(folder, hf.model_type)
    info = _info(folder, hf, module, cfg, notes)
    info["tokenizer"] = tok_note
    if tokenizer is None:
        info["notes"].append(tok_note)
    info["parameters"] = model.num_parameters()
    return model.to(device).eval(), tokenizer, info


def load_pretrained(folder: str | os.PathLike, device: str | torch.device = "cpu"):
    """``(model, tokenizer)`` for a Hugging Face folder; tokenizer is None without one.

    GPT-2, OPT -> DTransformer (Alg 10); Llama, Qwen2 -> DTransformer with extensions
    (rotary positions, SwiGLU, grouped-query attention); BERT/MiniLM, RoBERTa,
    DistilBERT -> ETransformer (Alg 9); BART and Marian -> EDTransformer (Alg 8).
    Raises CheckpointError (a ValueError) naming the file and the field or tensor for
    anything it cannot map.
    """
    model, tokenizer, _ = _load_hf(Path(folder), device)
    return model, tokenizer


def _own_folder(folder: Path) -> Path | None:
    """The folder holding our own config.json: ``folder`` or a run's ``checkpoint/``."""
    for candidate in (folder, folder / RUN_CHECKPOINT):
        path = candidate / CONFIG_FILE
        if path.is_file():
            try:
                data = read_json_config(candidate)
            except CheckpointError:
                return None
            return candidate if data.get("model_type") == OWN_MODEL_TYPE else None
    return None


def _own_info(
    folder: Path, cfg: ModelConfig, parameters: int, tok_note: str | None, notes: list[str]
) -> dict[str, Any]:
    return {
        "name": _display_name(folder),
        "folder": str(folder),
        "format": OWN_MODEL_TYPE,
        "family": "Transformer Explorer",
        "model_type": OWN_MODEL_TYPE,
        "architecture": cfg.algorithm_name,
        "base_model": "",
        "arch": cfg.arch,
        "algorithm": cfg.algorithm,
        "algorithm_name": cfg.algorithm_name,
        "parameters": parameters,
        "vocab_size": cfg.vocab_size,
        "l_max": cfg.l_max,
        "d_e": cfg.d_e,
        **_size_info(cfg),
        "tokenizer": tok_note,
        "add_special_tokens": False,
        "notes": notes,
    }


def nonfinite_notes(model: nn.Module) -> list[str]:
    """A note naming the tensors that hold NaN or infinite values (none: no note)."""
    bad = nonfinite_tensors(model)
    if not bad:
        return []
    return [f"{NONFINITE_NOTE}: {describe_nonfinite(bad)}; the model's outputs are not "
            "meaningful numbers"]


def _open_own(folder: Path, device: str | torch.device):
    try:
        check_model_fits(read_config(folder))  # before a tensor is allocated
        model = load_model(folder, device=device)
    except ValueError as exc:
        raise CheckpointError(str(exc)) from exc
    tokenizer, tok_note = folder_tokenizer(folder)
    notes = ([] if tokenizer is not None else [tok_note]) + nonfinite_notes(model)
    info = _own_info(folder, model.cfg, model.num_parameters(), tok_note, notes)
    return model, tokenizer, info


def open_model(folder: str | os.PathLike, device: str | torch.device = "cpu"):
    """``(model, tokenizer, info)`` for our own folder, a training run, or a HF folder.

    ``info`` is a JSON-friendly dict: name, folder, format, family, model_type,
    architecture, arch, algorithm (8/9/10), algorithm_name, parameters, vocab_size,
    l_max, d_e, n_heads and n_layers (per stack for Algorithm 8 when they differ),
    n_kv_heads, extensions (what is not in the paper), label, tokenizer (where it came
    from), add_special_tokens (whether ``encode_text`` adds the reference's special
    tokens), notes (list of str,
    e.g. "no MLM head: output distribution not meaningful"), load_seconds.
    """
    start = time.perf_counter()
    path = Path(folder)
    own = _own_folder(path) if path.is_dir() else None
    model, tokenizer, info = _open_own(own, device) if own else _load_hf(path, device)
    info["load_seconds"] = round(time.perf_counter() - start, 3)
    info["label"] = model_label(info)
    return model, tokenizer, info


__all__ = ["TOKENIZER_JSON", "describe_pretrained", "load_pretrained", "model_label",
           "open_model"]
