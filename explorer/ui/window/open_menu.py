"""File ▸ Open model: "Open folder…" and the Hugging Face models already in the local cache.

The cache is read when the menu opens (offline, config.json only: see
``explorer.io.hf_cache``). A model whose family we cannot map is listed greyed, with the
reason in its label, tooltip and status tip; choosing one that opens loads its snapshot like
any model folder.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu, QWidget

from explorer.ui.widgets.actions import make_action

MENU_TITLE = "Open model"
FOLDER_TEXT = "Open folder…"


def _home_relative(path: Path) -> str:
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except ValueError:
        return str(path)


class OpenModelMenu(QMenu):
    """The submenu; ``open_folder(path)`` is called with the folder to open."""

    def __init__(self, owner: QWidget, open_folder: Callable[[str], None]) -> None:
        super().__init__(MENU_TITLE, owner)
        self.setToolTipsVisible(True)
        self._open_folder = open_folder
        self.folder_action = make_action(
            owner, FOLDER_TEXT, self._ask_folder, QKeySequence.StandardKey.Open,
            "Open a saved model folder (ours, a training run or Hugging Face) (Ctrl+O)")
        self.addAction(self.folder_action)
        self.cached_actions: list[QAction] = []
        self.aboutToShow.connect(self.refresh)  # not before: reading the cache imports torch

    def _ask_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(
            self.parentWidget(),
            "Open a model folder (config.json, model.safetensors, tokenizer.json)")
        if path:
            self._open_folder(path)

    def refresh(self) -> None:
        """List the cache's models anew (the scan is remembered per config.json)."""
        from explorer.io.hf_cache import cache_dir, cached_models

        self.clear()
        self.addAction(self.folder_action)
        self.addSeparator()
        cache = cache_dir()
        models = cached_models(cache)
        where = _home_relative(cache)
        header = QAction(f"In the Hugging Face cache ({where})" if models
                         else f"No models in the Hugging Face cache ({where})", self)
        header.setEnabled(False)
        header.setToolTip("Models that transformers or huggingface_hub downloaded "
                          "(HF_HUB_CACHE, HF_HOME); opened offline")
        self.addAction(header)
        self.cached_actions = []
        for model in models:
            action = QAction(model.label, self)
            if model.supported:
                tip = f"Open {model.repo_id} ({model.folder})"
                action.triggered.connect(
                    lambda _checked=False, folder=model.folder: self._open_folder(str(folder)))
            else:
                tip = f"{model.repo_id}: {model.reason}"
                action.setEnabled(False)
            action.setToolTip(tip)
            action.setStatusTip(tip)
            action.setData(str(model.folder))
            self.addAction(action)
            self.cached_actions.append(action)
