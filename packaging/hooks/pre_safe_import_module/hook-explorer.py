"""Let PyInstaller find ``explorer.resources`` when explorer is installed in editable mode.

pyproject maps the repository's top-level ``resources/`` folder to the package
``explorer.resources``. A wheel installs it as ``explorer/resources/``; an editable install
maps it with an import hook that PyInstaller's module graph does not consult, so the package
would be left out of the bundle. Adding the folder that holds ``resources/`` to
``explorer.__path__`` (during the analysis only) lets the graph find it there.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path


def pre_safe_import_module(api) -> None:
    spec = importlib.util.find_spec("explorer.resources")
    if spec is None or not spec.origin:
        return
    holder = Path(spec.origin).resolve().parent.parent
    explorer = importlib.util.find_spec("explorer")
    if explorer is not None and explorer.origin:
        if Path(explorer.origin).resolve().parent == holder:
            return  # a regular install: explorer/resources/ is already inside the package
    api.append_package_path(str(holder))
