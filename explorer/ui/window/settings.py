"""Where the window remembers its layout, size, architecture and last text.

``TRANSFORMER_EXPLORER_SETTINGS=/path/file.ini`` puts them in that file (tests, benchmarks);
under ``TRANSFORMER_EXPLORER_TESTING`` without a path they go to a throw-away file in the
temporary folder, never the user's.

Texts are saved up to ``MAX_SAVED_TEXT`` characters (a 10 MB paste once made a 10.5 MB
settings file that froze the next start for 6 s); a longer one is saved as its prefix and
the next start says so. A settings file grown larger than ``MAX_SETTINGS_BYTES`` by an
older version is shrunk before Qt reads it: its overlong lines are dropped, with a note.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths

ORGANIZATION = "TransformerExplorer"
APPLICATION = "transformer-explorer"
SETTINGS_ENV = "TRANSFORMER_EXPLORER_SETTINGS"
TESTING_ENV = "TRANSFORMER_EXPLORER_TESTING"
MAX_SAVED_TEXT = 100_000  # characters of a text or context kept for the next start
MAX_SETTINGS_BYTES = 2_000_000
MAX_LINE_BYTES = 4 * MAX_SAVED_TEXT  # an escaped text line is at most ~4 bytes a character
NOTE_KEY = "input/note"  # what the next start should say about the saved texts


def settings_path() -> Path:
    """The settings file: the one named by the environment, else the user's."""
    path = os.environ.get(SETTINGS_ENV)
    if not path and os.environ.get(TESTING_ENV):
        path = str(Path(tempfile.gettempdir()) / f"transformer-explorer-test-{os.getpid()}.ini")
    if path:
        return Path(path)
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericConfigLocation)
    return Path(base or Path.home() / ".config") / ORGANIZATION / f"{APPLICATION}.ini"


def shrink_oversized(path: Path) -> str:
    """Drop the overlong lines of a settings file larger than ``MAX_SETTINGS_BYTES`` (a
    linear scan, milliseconds, unlike Qt's parse of a multi-megabyte value); returns a note
    for the user, "" when nothing was done."""
    try:
        if path.stat().st_size <= MAX_SETTINGS_BYTES:
            return ""
        with open(path, "rb") as handle:
            lines = handle.readlines()
        kept = [line for line in lines if len(line) <= MAX_LINE_BYTES]
        with open(path, "wb") as handle:
            handle.writelines(kept)
    except OSError:
        return ""
    dropped = len(lines) - len(kept)
    return (f"The saved settings held {dropped} value{'s' if dropped != 1 else ''} too large "
            "to reload quickly (a very long text); they were left out.")


def make_settings() -> QSettings:
    path = settings_path()
    note = shrink_oversized(path)
    settings = QSettings(str(path), QSettings.Format.IniFormat)
    if note:
        settings.setValue(NOTE_KEY, note)
    return settings


def bounded_text(text: str, what: str) -> tuple[str, str]:
    """(what to save, the note to show at the next start, "" when it is saved whole)."""
    if len(text) <= MAX_SAVED_TEXT:
        return text, ""
    return text[:MAX_SAVED_TEXT], (f"{what} had {len(text):,} characters; the first "
                                   f"{MAX_SAVED_TEXT:,} were kept from the last session.")
