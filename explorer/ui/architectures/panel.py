"""The Side by side tab (View ▸ Side by side, scene view ``architectures``): the bundled
decoder, encoder and encoder-decoder (or any opened model folders) on the window's text,
stepping together by the paper's line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFileDialog, QWidget

from explorer.ui.architectures.training import TogetherBox
from explorer.ui.architectures.view import SideBySideWidget
from explorer.ui.widgets.panel import Panel


def show_sync(view: SideBySideWidget, sync: Any) -> None:
    """``sync``'s columns, their steps and their pseudocode diff in ``view``."""
    from explorer.state.masks import masks_of
    from explorer.state.pseudocode_diff import pseudocode_diff
    from explorer.state.step_data import heatmap_data

    data = [heatmap_data(c.session) if c.line is not None else None for c in sync.columns]
    diff = pseudocode_diff([c.algorithm for c in sync.columns],
                           [c.session.cfg for c in sync.columns], sync.half)
    sessions = [c.session for c in sync.columns]
    z = next((s.z_labels for s in sessions if s.z_labels), None)
    view.show_sync(sync, data, diff, masks_of(sessions[0].x_labels, z))


TEXT_DELAY_MS = 250  # after the last keystroke, the columns record the new text


class SideBySideTab(Panel):
    title = "Side by side"
    tooltip = ("The decoder, encoder and encoder–decoder on the same text, one column each, "
               "stepping together by the paper's line (→ / ←)")
    scene_views = ("architectures",)
    own_title = True  # the line the columns show is the view's title

    def __init__(self, make_view: Callable[[], QWidget]) -> None:
        super().__init__(SideBySideWidget(make_view), scroll=False)
        self.sync = None  # explorer.state.architectures.SideBySide, made when first shown
        self._text_timer = QTimer(self.view)
        self._text_timer.setSingleShot(True)
        self._text_timer.setInterval(TEXT_DELAY_MS)
        self._text_timer.timeout.connect(self._apply_text)
        v = self.view
        v.row_chosen.connect(lambda i: self._call("set_row", max(0, i)))
        v.stepped.connect(lambda by: self._call("step_by", by))
        v.layer_chosen.connect(lambda n: self._call("set_layer", n))
        v.head_chosen.connect(lambda n: self._call("set_head", n))
        v.half_chosen.connect(lambda h: self._call("set_half", h))
        v.bundled_requested.connect(self.use_bundled)
        v.folder_requested.connect(self._on_add_folder)
        v.column_removed.connect(self._on_remove_column)
        self.training = TogetherBox()  # Train all three: its button in the bar, its plot below
        v.second_row.addWidget(self.training.button)
        v.layout().addWidget(self.training, 1)
        self.training.train_requested.connect(self._on_train_requested)
        self.training.weights_ready.connect(self._on_weights)

    @property
    def main_view(self) -> QWidget:
        return self.view

    # -- the models ------------------------------------------------------------------------
    def _ensure(self, session: Any, models: list | None = None) -> None:
        from explorer.state.architectures import SideBySide, default_models

        if self.sync is None or models is not None:
            models = models if models is not None else default_models()
            if self.sync is None:
                self.sync = SideBySide(models, session.text, session.context)
                self.sync.line_changed.connect(self._show)
                self._show()
            else:
                self.sync.set_models(models)

    def use_bundled(self) -> None:
        from explorer.state.architectures import default_models

        if self.session is not None:
            self._ensure(self.session, default_models())

    def _on_add_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self.view, "Add a model folder as a column")
        if path:
            self.add_folder(path)

    def add_folder(self, path: str) -> bool:
        """A model folder as another column (it replaces the last of three)."""
        from explorer.state.defaults import load_folder

        if self.session is None:
            return False
        try:
            loaded = load_folder(path)
        except (OSError, ValueError) as exc:
            self.view.say(f"Could not open {path}: {exc}")
            return False
        self._ensure(self.session)
        models = [c.session.loaded for c in self.sync.columns][:2] + [loaded]
        self.sync.set_models(models)
        self.view.say("")
        return True

    def _on_remove_column(self) -> None:
        if self.sync is not None and len(self.sync.columns) > 1:
            self.sync.set_models([c.session.loaded for c in self.sync.columns[:-1]])

    # -- training the three together -----------------------------------------------------
    def _on_train_requested(self) -> None:
        path = QFileDialog.getExistingDirectory(
            self.view, "A folder for the three runs (decoder, encoder, encoder-decoder; "
            "a folder that holds them already: they continue)")
        if path:
            self.train_together(Path(path))

    def train_together(self, out: Path, given: dict[str, Any] | None = None) -> None:
        """Train the bundled three together into ``out``/<arch> (``given``: training options,
        as ``train --preset compare-architectures`` takes them); the columns follow."""
        if self.session is None:
            return
        self._ensure(self.session)
        self.training.start(out, given)

    def _on_weights(self, snapshots: dict[str, Any]) -> None:
        """Training's new weights into the columns whose model they are."""
        from explorer.state.defaults import LoadedModel

        if self.sync is None:
            return
        models = [(LoadedModel(s.model, s.tokenizer, f"training: {arch}, step {s.step}",
                               "folder", self.training.worker.out / arch), s.step)
                  for arch, s in snapshots.items()]
        taken = self.sync.set_weights(models)
        self.view.say("" if taken == len(self.sync.columns) else
                      "Columns that do not show one of the bundled three do not follow the "
                      "training (Models ▸ The bundled decoder, encoder and encoder–decoder).")

    def confirm_close(self) -> bool:
        """Closing stops the three runs and saves them (within ``STOP_WAIT_MS``)."""
        return self.training.wait()

    def shutdown(self) -> None:
        self.training.wait()
        super().shutdown()

    def _call(self, method: str, *args: Any) -> None:
        if self.sync is not None:
            getattr(self.sync, method)(*args)

    # -- the panel protocol ----------------------------------------------------------------
    def refresh(self, session: Any) -> None:
        """The window's text (and context) in every column: at once the first time, then
        once typing pauses (``TEXT_DELAY_MS``: three models record on this thread)."""
        if self.sync is None:
            self._ensure(session)
        elif (self.sync.text, self.sync.context) != (session.text, session.context):
            self._text_timer.start()

    def _apply_text(self) -> None:
        session = self.session
        if session is not None and self.sync is not None:
            self.sync.set_text(session.text, session.context)

    def _show(self) -> None:
        show_sync(self.view, self.sync)

    def show_scene_view(self, view: str, scene: Any) -> None:
        from explorer.state.architectures import apply_options, models_from_options

        session = self.session
        if session is None:
            return
        options = scene.view_options
        models = models_from_options(options)
        self._ensure(session, models)
        if (self.sync.text, self.sync.context) != (session.text, session.context):
            self._apply_text()
        apply_options(self.sync, options, scene.layer, scene.head)

    def scene_fields(self) -> dict[str, Any]:
        from explorer.state.architectures import scene_options

        if self.sync is None:
            return {"view": "architectures"}
        return {"view": "architectures", "layer": self.sync.layer, "head": self.sync.head,
                "view_options": scene_options(self.sync)}
