"""File-menu actions for lectures: save and open scenes, walk a lecture, export and copy views.

``SceneController(window, presentation=None)`` reads and sets the window only through its
public parts: ``session``, ``tabs``, ``panels``, ``show_tab``, ``heatmap``,
``inputs.set_texts``, ``loading`` (``set_architecture``, ``new_model``, ``open_model_folder``),
``show_error``, the signal ``model_loaded``. A scene whose model must be loaded first is
finished when the model and then the trace arrive.

Which tab shows a scene's view is each panel's declaration (``Panel.scene_views``; the
Step tab, the window's own, shows ``step``): a scene whose view no tab of this window
declares is refused with a message when it is opened, before anything changes.
Dialogs go through ``ask_save_path``, ``ask_open_path`` and ``ask_folder`` (tests replace them).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu, QMessageBox, QWidget

from explorer.ui.lecture.export import (
    IMAGE_FORMATS,
    copy_image,
    export_curves_csv,
    export_image,
    export_table,
    format_of,
)
from explorer.ui.lecture.view_parts import view_parts
from explorer.ui.widgets.actions import make_action
from explorer.ui.widgets.scroll import unwrap

EXPORT_FILTER = "PNG picture (*.png);;SVG drawing (*.svg);;CSV table (*.csv);;NumPy array (*.npy)"
SCENE_FILTER = "Scene (*.json)"
STEP_VIEW = "step"  # the Step tab's: the heatmap of the selected step


def current_view(window: QMainWindow) -> QWidget:
    """The widget in the centre: the current tab's (unwrapped from a scroll area)."""
    tabs = getattr(window, "tabs", None)
    if tabs is not None and tabs.currentWidget() is not None:
        return unwrap(tabs.currentWidget())
    heatmap = getattr(window, "heatmap", None)
    return heatmap if heatmap is not None else window.centralWidget()


def _file_menu(window: QMainWindow) -> QMenu:
    for action in window.menuBar().actions():
        if action.menu() is not None and action.text().replace("&", "") == "File":
            return action.menu()
    return window.menuBar().addMenu("&File")


class SceneController(QObject):
    """Scenes, lectures and export for ``window`` (see the module docstring)."""

    def __init__(self, window: QMainWindow, presentation: Any = None) -> None:
        super().__init__(window)
        self.window = window
        self.presentation = presentation
        self.export_scale = 2.0
        self.lecture = None
        self._pending = None  # a scene waiting for its model or its trace
        self._awaiting_model = False
        self._session_hooked = None
        self._build_actions()
        if hasattr(window, "model_loaded"):
            window.model_loaded.connect(self._on_model_loaded)

    def _build_actions(self) -> None:
        w = self.window

        def action(text: str, slot, keys: str | None, tip: str) -> QAction:
            return make_action(w, text, slot, keys, tip)

        self.actions = {
            "save": action("Save scene…", self._on_save, "Ctrl+Shift+S",
                           "Save the model, text, step, head and view to reopen them exactly"),
            "open": action("Open scene…", self._on_open, "Ctrl+Shift+O",
                           "Reopen a saved scene"),
            "lecture": action("Open lecture…", self._on_open_lecture, None,
                              "A list of scenes to walk through (Ctrl+PageDown / Ctrl+PageUp)"),
            "next": action("Next scene", self.next_scene, "Ctrl+PgDown",
                           "The lecture's next scene (Ctrl+PageDown)"),
            "previous": action("Previous scene", self.previous_scene, "Ctrl+PgUp",
                               "The lecture's previous scene (Ctrl+PageUp)"),
            "export": action("Export view…", self._on_export, "Ctrl+E",
                             "The view as PNG (2×) or SVG, or its numbers as CSV or .npy"),
            "copy": action("Copy view", self.copy_view, "Ctrl+Shift+C",
                           "Copy the view as a picture, to paste into slides"),
        }
        menu = _file_menu(w)
        quit_action = next((a for a in menu.actions() if a.text().startswith("Quit")), None)
        bundled = QMenu("Bundled scenes", w)
        # Filled when the File menu first opens: reading the scenes loads torch, and the
        # window paints before torch is imported.
        menu.aboutToShow.connect(lambda: self.fill_bundled(bundled))
        self.actions["bundled"] = bundled.menuAction()
        items = [self.actions[k] for k in ("save", "open", "bundled", "lecture", "next",
                                           "previous")]
        exports = [self.actions["export"], self.actions["copy"]]
        for group in (items, exports):
            separator = QAction(w)
            separator.setSeparator(True)
            if quit_action is not None:
                menu.insertActions(quit_action, [*group, separator])
            else:
                menu.addActions([separator, *group])

    def fill_bundled(self, bundled: QMenu) -> None:
        """The bundled scenes as items of ``bundled`` (once)."""
        if not bundled.isEmpty() or not bundled.isEnabled():
            return
        from explorer.state.scene import bundled_scenes

        w = self.window
        for title, path in bundled_scenes().items():
            def open_it(_checked: bool = False, p: Path = path) -> None:
                self.open_scene_file(p)

            bundled.addAction(make_action(w, title, open_it, None, f"Open the scene {path.name}"))
        bundled.setEnabled(not bundled.isEmpty())

    # -- dialogs (replaced in tests) ---------------------------------------------------------
    def ask_save_path(self, title: str, filters: str) -> str:
        return QFileDialog.getSaveFileName(self.window, title, "", filters)[0]

    def ask_open_path(self, title: str, filters: str) -> str:
        return QFileDialog.getOpenFileName(self.window, title, "", filters)[0]

    def ask_folder(self, message: str) -> str:
        answer = QMessageBox.question(self.window, "Model folder not found",
                                      f"{message}\n\nPick the folder?")
        if answer != QMessageBox.StandardButton.Yes:
            return ""
        return QFileDialog.getExistingDirectory(self.window, "Where is the scene's model?")

    # -- scenes ----------------------------------------------------------------------------
    def _panels(self) -> list:
        return list(getattr(self.window, "panels", None) or [])

    def available_views(self) -> tuple[str, ...]:
        """The scene views this window can show: ``step`` and each panel's declared ones."""
        views = [STEP_VIEW]
        for panel in self._panels():
            views += [v for v in panel.scene_views if v not in views]
        return tuple(views)

    def panel_for(self, view: str):
        """The panel that declares ``view`` (None for ``step`` or a view none declares)."""
        return next((p for p in self._panels() if view in p.scene_views), None)

    def check_view(self, scene) -> str | None:
        """Why this window cannot show the scene's view; None when it can."""
        if scene.view == STEP_VIEW or self.panel_for(scene.view) is not None:
            return None
        if not self._panels():
            return "the window's tabs are still loading; open the scene once they are shown"
        return (f"the scene's view {scene.view!r} is not available in this window (it "
                f"shows: {', '.join(self.available_views())})")

    def current_scene(self):
        """The window's state as a ``Scene`` (None before the model is loaded)."""
        from explorer.state.scene import scene_from_session

        session = self.window.session
        if session is None:
            return None
        extra: dict[str, Any] = {"view": STEP_VIEW}
        tabs = getattr(self.window, "tabs", None)
        shown = tabs.currentWidget() if tabs is not None else None
        for panel in self._panels():
            if panel.widget is shown:
                extra.update(panel.scene_fields())
        if self.presentation is not None:
            extra.update(zoom=self.presentation.zoom_factor, theme=self.presentation.theme)
        return scene_from_session(session, **extra)

    def save_scene_to(self, path: str) -> bool:
        from explorer.state.scene import save_scene

        scene = self.current_scene()
        if scene is None:
            self.window.show_error("Nothing to save yet: the model is still loading.")
            return False
        try:
            save_scene(scene, path)
        except ValueError as exc:
            self.window.show_error(str(exc))
            return False
        self.window.statusBar().showMessage(f"Scene saved to {path}", 4000)
        return True

    def open_scene_file(self, path: str | Path) -> bool:
        from explorer.state.scene import load_scene, model_missing

        try:
            scene = load_scene(path)
        except ValueError as exc:
            self.window.show_error(f"Could not open the scene: {exc}")
            return False
        why = self.check_view(scene)
        if why is not None:
            self.window.show_error(f"Could not open the scene {Path(path).name}: {why}.")
            return False
        if model_missing(scene):
            folder = self.ask_folder(f"{path}: the scene's model folder {scene.model} does "
                                     "not exist (moved or deleted?).")
            if not folder:
                self.window.show_error(f"{path}: the scene's model folder {scene.model} does "
                                       "not exist; the scene was not opened.")
                return False
            scene = replace(scene, model=folder)
        return self.apply_scene(scene)

    def apply_scene(self, scene) -> bool:
        """Show ``scene``: load its model if it differs, then its text, then its selection."""
        session = self.window.session
        if session is None:
            self.window.show_error("The model is still loading; open the scene once it is shown.")
            return False
        why = self.check_view(scene)
        if why is not None:
            self.window.show_error(f"Could not open the scene: {why}.")
            return False
        self._pending = scene
        if self._same_model(session, scene):
            self._apply_inputs()
            return True
        self._awaiting_model = True
        self._load_model(scene)
        return True

    def _same_model(self, session, scene) -> bool:
        from explorer.state.scene import model_reference

        model, seed = model_reference(session.loaded)
        if scene.model is None:
            return model is None and seed == scene.seed and session.arch == scene.arch
        if model is None:
            return False
        path = getattr(session.loaded, "path", None)
        return model == scene.model or (path is not None and Path(path).name == scene.model
                                        and session.loaded.source == "bundled")

    def _load_model(self, scene) -> None:
        from explorer.state import bundled_models
        from explorer.state.defaults import DEFAULT_SEED

        w = self.window
        if scene.model is None:
            if scene.seed == DEFAULT_SEED:
                w.loading.set_architecture(scene.arch)
            else:
                w.loading.new_model(scene.arch, scene.seed)
        elif scene.model in bundled_models():
            w.loading.open_model_folder(str(bundled_models()[scene.model]))
        else:
            w.loading.open_model_folder(scene.model)

    def _on_model_loaded(self, _label: str = "") -> None:
        if self._awaiting_model and self._pending is not None:
            self._awaiting_model = False
            self._apply_inputs()

    def _apply_inputs(self) -> None:
        from explorer.state.scene import apply_inputs

        session, scene = self.window.session, self._pending
        if self._session_hooked is not session:
            session.trace_changed.connect(self._on_trace_changed)
            self._session_hooked = session
        inputs = getattr(self.window, "inputs", None)
        if inputs is not None and hasattr(inputs, "set_texts"):
            inputs.set_texts(scene.text, scene.context)
        if inputs is not None and hasattr(inputs, "set_compare"):
            if scene.compare:
                inputs.set_compare(scene.compare)
            inputs.set_compare_visible(bool(scene.compare))
        before = session.generation
        apply_inputs(session, scene)
        if session.trace is None or session.generation != before:
            return  # the trace is on its way: _on_trace_changed finishes
        self._finish()

    def _on_trace_changed(self) -> None:
        if self._pending is not None and not self._awaiting_model:
            self._finish()

    def _finish(self) -> None:
        from explorer.state.scene import select_in_session

        scene, self._pending = self._pending, None
        session = self.window.session
        if not select_in_session(session, scene):
            self.window.show_error(f"This model has no step {scene.step!r}; the scene's "
                                   "text and model are shown.")
        self._show_view(scene)
        if self.presentation is not None:
            self.presentation.set_theme(scene.theme)
            self.presentation.set_zoom(scene.zoom)

    def _show_view(self, scene) -> None:
        """Bring the tab that declares the scene's view to the front and let it show it."""
        if scene.view == STEP_VIEW:
            self.window.show_tab("Step")
            return
        panel = self.panel_for(scene.view)
        if panel is None:  # the window lost the tab since the scene was checked
            self.window.show_error(f"Could not show the scene: {self.check_view(scene)}.")
            return
        self.window.show_tab(panel.title)
        try:
            panel.show_scene_view(scene.view, scene)
        except (KeyError, ValueError, TypeError) as exc:
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            self.window.show_error(f"The scene's {scene.view} view: {message}")

    # -- lectures --------------------------------------------------------------------------
    def open_lecture_file(self, path: str | Path) -> bool:
        from explorer.state.lecture import load_lecture

        try:
            self.lecture = load_lecture(path)
        except ValueError as exc:
            self.window.show_error(f"Could not open the lecture: {exc}")
            return False
        return self._open_lecture_scene()

    def _open_lecture_scene(self) -> bool:
        lecture = self.lecture
        self.window.statusBar().showMessage(
            f"{lecture.title or 'Lecture'}: {lecture.position()}", 5000)
        return self.open_scene_file(lecture.current)

    def next_scene(self) -> None:
        self._move(+1)

    def previous_scene(self) -> None:
        self._move(-1)

    def _move(self, delta: int) -> None:
        if self.lecture is None:
            self.window.statusBar().showMessage("Open a lecture first (File ▸ Open lecture…)",
                                                4000)
            return
        moved = self.lecture.next() if delta > 0 else self.lecture.previous()
        if moved is None:
            end = "last" if delta > 0 else "first"
            self.window.statusBar().showMessage(f"This is the lecture's {end} scene.", 4000)
            return
        self._open_lecture_scene()

    # -- export ----------------------------------------------------------------------------
    def export_view_to(self, path: str, scale: float | None = None) -> bool:
        """The current view to ``path``: .png/.svg picture, .csv/.npy numbers."""
        parts = view_parts(current_view(self.window))
        try:
            fmt = format_of(path)
            if fmt in IMAGE_FORMATS:
                export_image(parts.target, path, scale or self.export_scale, parts.caption)
            elif parts.table is not None:
                export_table(parts.table, path)
            elif parts.series and fmt == "csv":
                export_curves_csv(parts.series, path)
            else:
                raise ValueError(f"this view has no single tensor to save as .{fmt}; "
                                 "export it as .png or .svg")
        except ValueError as exc:
            self.window.show_error(f"Export failed: {exc}")
            return False
        self.window.statusBar().showMessage(f"Exported to {path}", 4000)
        return True

    def copy_view(self) -> None:
        parts = view_parts(current_view(self.window))
        copy_image(parts.target, self.export_scale, parts.caption)
        self.window.statusBar().showMessage("The view is on the clipboard", 3000)

    def _on_save(self) -> None:
        path = self.ask_save_path("Save scene", SCENE_FILTER)
        if path:
            self.save_scene_to(path if path.endswith(".json") else path + ".json")

    def _on_open(self) -> None:
        path = self.ask_open_path("Open scene", SCENE_FILTER)
        if path:
            self.open_scene_file(path)

    def _on_open_lecture(self) -> None:
        path = self.ask_open_path("Open lecture", "Lecture (*.json)")
        if path:
            self.open_lecture_file(path)

    def _on_export(self) -> None:
        path = self.ask_save_path("Export view", EXPORT_FILTER)
        if path:
            self.export_view_to(path)
