"""Named sets of training choices: ``transformer-explorer train --preset NAME``.

A preset is a dict of the command's option names (``task``, ``data``, ``steps``,
``batch_size``, ``lr``, ``d_e`` ...). ``resolve_options(preset, given)`` merges
``DEFAULTS`` < the preset < the options given on the command line, so a preset can be
rerun as is or adjusted. Other modules add presets with ``register_preset``.
"""

from __future__ import annotations

from typing import Any

DEFAULTS: dict[str, Any] = {
    "task": "next-token",
    "arch": None,
    "data": None,
    "tokenizer": "char",
    "vocab_size": None,
    "steps": 1000,
    "batch_size": 32,
    "grad_accum": 1,
    "lr": 1e-3,
    "warmup": None,
    "weight_decay": 0.01,
    "grad_clip": 1.0,
    "p_mask": 0.15,
    "val_every": 100,
    "val_fraction": 0.1,
    "log_every": None,  # 1 on the CPU, 10 on a GPU
    "save_every": 1000,
    "snapshot_every": 0,  # weights only into DIR/snapshots every N steps (0: none)
    "seed": 0,
    "device": "auto",
    "bf16": True,
    "tf32": True,
    "precision": "auto",
    "d_e": 64,
    "n_heads": 4,
    "n_layers": 2,
    "l_max": 64,
    "d_mlp": None,
    "norm": "layer",
    "norm_placement": None,
    "positions": "learned",
    "activation": None,
    "tie_unembedding": False,
    "n_kv_heads": None,  # fewer key/value heads: grouped-query attention (an extension)
}

PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {
        "task": "next-token",
        "tokenizer": "char",
        "d_e": 32,
        "n_heads": 2,
        "n_layers": 1,
        "l_max": 32,
        "steps": 60,
        "batch_size": 8,
        "lr": 3e-3,
        "val_every": 20,
        "save_every": 0,
    },
    # The bundled models (resources/models/<name>/, see resources/models/README.md).
    # Masked-token and seq2seq training use pre-norm: with post-norm (the paper's
    # Algorithms 8-9) these small models sat at the unigram loss for hundreds of steps.
    "default-decoder": {
        "task": "next-token", "data": "grammar", "tokenizer": "char",
        "d_e": 128, "n_heads": 4, "n_layers": 3, "l_max": 64,
        "steps": 2500, "batch_size": 32, "lr": 2e-3, "val_every": 250, "seed": 0,
    },
    "default-encoder": {
        "task": "masked", "data": "grammar", "tokenizer": "char", "norm_placement": "pre",
        "d_e": 128, "n_heads": 4, "n_layers": 3, "l_max": 64,
        "steps": 2500, "batch_size": 32, "lr": 1e-3, "val_every": 250, "seed": 0,
    },
    "default-seq2seq": {
        "task": "seq2seq", "data": "translation", "tokenizer": "word", "norm_placement": "pre",
        "d_e": 128, "n_heads": 4, "n_layers": 2, "l_max": 32,
        "steps": 1500, "batch_size": 32, "lr": 1e-3, "val_every": 250, "seed": 0,
    },
    "default-classifier": {
        "task": "classify", "data": "sentiment", "tokenizer": "word", "norm_placement": "pre",
        "d_e": 64, "n_heads": 4, "n_layers": 2, "l_max": 32,
        "steps": 800, "batch_size": 32, "lr": 1e-3, "val_every": 200, "seed": 0,
    },
    # The bundled scene resources/scenes/induction-time-lapse.json: fresh sequences every
    # batch of ids drawn from the whole vocabulary (explorer/train/generated.py), in which
    # segments repeat at varying distances. The two-layer circuit forms: an induction head
    # in layer 2 by step ~400 (prefix matching 0.1 -> 0.9), then a previous-token head in
    # layer 1 (0.8-0.9 by step 2000) that the induction head K-composes with; mean-ablating
    # it removes both (measured: resources/scenes/README.md).
    "induction": {
        "task": "next-token", "data": "induction-ids", "tokenizer": "char",
        "d_e": 32, "n_heads": 2, "n_layers": 2, "l_max": 64, "positions": "learned",
        "steps": 2000, "batch_size": 32, "lr": 3e-3, "warmup": 50, "weight_decay": 0.0,
        "val_every": 500, "save_every": 0, "snapshot_every": 100, "seed": 0,
    },
    # Grokking (resources/scenes/grokking.json; measured in resources/scenes/README.md):
    # a b = (a + b) mod 59, 40% of the pairs trained on in full batches; weight decay 1.0
    # makes validation accuracy follow training accuracy to 100% long after it.
    "grokking": {
        "task": "last-token", "data": "modular", "tokenizer": "word",
        "d_e": 128, "n_heads": 4, "n_layers": 1, "l_max": 4, "d_mlp": 512,
        "steps": 2000, "batch_size": 4096, "lr": 3e-3, "warmup": 10, "weight_decay": 1.0,
        "val_every": 25, "val_fraction": 0.6, "save_every": 0, "snapshot_every": 50,
        "seed": 0,
    },
    "small": {
        "d_e": 128,
        "n_heads": 4,
        "n_layers": 4,
        "l_max": 64,
        "steps": 2000,
        "batch_size": 32,
        "lr": 1e-3,
    },
}


def preset_names() -> list[str]:
    return sorted(PRESETS)


def get_preset(name: str) -> dict[str, Any]:
    """A copy of preset ``name`` (ValueError listing the known ones otherwise)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}: known presets are {', '.join(preset_names())}")
    return dict(PRESETS[name])


def register_preset(name: str, values: dict[str, Any], replace: bool = False) -> None:
    """Add a preset; its keys must be option names in ``DEFAULTS``."""
    unknown = sorted(set(values) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"preset {name!r} has unknown option(s): {', '.join(unknown)}")
    if name in PRESETS and not replace:
        raise ValueError(f"preset {name!r} exists already")
    PRESETS[name] = dict(values)


def resolve_options(preset: str | None, given: dict[str, Any]) -> dict[str, Any]:
    """DEFAULTS, then the preset, then every option in ``given`` that is not None."""
    options = dict(DEFAULTS)
    if preset:
        options.update(get_preset(preset))
    options.update({k: v for k, v in given.items() if v is not None and k in DEFAULTS})
    return options
