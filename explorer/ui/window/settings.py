"""Where the window remembers its layout, size, architecture and last text.

``TRANSFORMER_EXPLORER_SETTINGS=/path/file.ini`` puts them in that file (tests, benchmarks);
under ``TRANSFORMER_EXPLORER_TESTING`` without a path they go to a throw-away file in the
temporary folder, never the user's.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings

ORGANIZATION = "TransformerExplorer"
APPLICATION = "transformer-explorer"
SETTINGS_ENV = "TRANSFORMER_EXPLORER_SETTINGS"
TESTING_ENV = "TRANSFORMER_EXPLORER_TESTING"


def make_settings() -> QSettings:
    path = os.environ.get(SETTINGS_ENV)
    if not path and os.environ.get(TESTING_ENV):
        path = str(Path(tempfile.gettempdir()) / f"transformer-explorer-test-{os.getpid()}.ini")
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                     ORGANIZATION, APPLICATION)
