"""The ``--model DIR|NAME`` option of every command (inspect, generate, fill-mask,
classify, render, analyze): ``resolve_model_arg`` is the one place a name becomes a
folder; ``parse_ids`` reads the ``--ids`` options."""

from __future__ import annotations

import argparse
from importlib.resources import files
from pathlib import Path

BUNDLED = {
    "default-decoder": "decoder",
    "default-encoder": "encoder",
    "default-seq2seq": "encoder-decoder",
    "default-classifier": "encoder",
}


def bundled_model_dir(name: str) -> Path:
    """``explorer.resources/models/<name>`` (ValueError if that model is not bundled)."""
    folder = Path(str(files("explorer.resources") / "models" / name))
    if not (folder / "config.json").is_file():
        raise ValueError(f"the bundled model {name!r} is missing from {folder.parent}; "
                         f"rebuild it with: transformer-explorer train --preset {name}")
    return folder


def add_model_argument(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument("--model", default=default,
                        help=f"a model folder, or a bundled model name ({', '.join(BUNDLED)}); "
                             f"default {default}")


def resolve_model_arg(value: str) -> Path:
    """The folder ``--model VALUE`` means: a bundled name or a folder that exists."""
    if value in BUNDLED and not Path(value).is_dir():
        return bundled_model_dir(value)
    folder = Path(value)
    if not folder.exists():
        raise ValueError(f"--model {value}: no such folder, nor a bundled model "
                         f"({', '.join(BUNDLED)})")
    return folder


def open_model_arg(value: str, need_tokenizer: bool = True):
    """(model, tokenizer, info) for a folder or a bundled name."""
    from explorer.io import open_model

    folder = resolve_model_arg(value)
    model, tokenizer, info = open_model(folder)
    if need_tokenizer and tokenizer is None:
        raise ValueError(f"{folder}: the model has no tokenizer.json")
    return model.eval(), tokenizer, info


def model_input_ids(model, tok, text: str, which: int = 0) -> list[int]:
    """``text`` as ``model`` reads it: its x (``which=0``) or its context z (``which=1``),
    with the special tokens it was trained with (``explorer.state.input_roles``).

    A next-token model trained on raw streams starts an empty prompt at a line break,
    where its training sentences start.
    """
    from explorer.state.inputs import encode_text, input_roles

    role = input_roles(model.cfg)[which] or "encoder"
    if role == "raw" and not text and which == 0:
        text = "\n"
    enc = encode_text(tok, text, role, 1 << 30)
    return list(enc.chunks[0].ids) if enc.chunks else []


def parse_ids(text: str, what: str) -> list[int]:
    """Token ids typed as ``50256,1212,318`` or ``50256 1212 318`` (ValueError if not)."""
    try:
        ids = [int(part) for part in text.replace(",", " ").split()]
    except ValueError as exc:
        raise ValueError(f"{what} takes whole numbers separated by commas or spaces, like "
                         f"50256,1212,318 ({exc})") from exc
    if not ids:
        raise ValueError(f"{what} is empty")
    return ids
