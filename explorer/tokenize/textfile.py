"""Read a user's text file to train a tokenizer on, with a one-line reason when it cannot."""

from __future__ import annotations

import os
from pathlib import Path

MAX_BYTES = 64 * 1024 * 1024  # larger files are refused (training would take minutes)


class TextFileError(ValueError):
    """A file that is missing, unreadable, empty, binary or too large."""


def read_training_text(path: str | os.PathLike, max_bytes: int = MAX_BYTES) -> list[str]:
    """The file's non-empty lines (UTF-8); ``TextFileError`` says why a file cannot be used."""
    p = Path(path)
    name = p.name or str(p)
    if not p.exists():
        raise TextFileError(f"{name}: no such file")
    if p.is_dir():
        raise TextFileError(f"{name} is a folder, not a text file")
    try:
        size = p.stat().st_size
        if size > max_bytes:
            raise TextFileError(
                f"{name} is {size / 2**20:.0f} MB: use a text of at most "
                f"{max_bytes / 2**20:.0f} MB"
            )
        raw = p.read_bytes()
    except PermissionError:
        raise TextFileError(f"{name} cannot be read (no permission)") from None
    except OSError as exc:
        raise TextFileError(f"{name} cannot be read ({exc.strerror or exc})") from None
    if b"\x00" in raw[:65536]:
        raise TextFileError(f"{name} is a binary file, not text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TextFileError(
            f"{name} is not UTF-8 text (byte {exc.start} cannot be decoded)"
        ) from None
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise TextFileError(f"{name} is empty: there is no text to train on")
    return lines
