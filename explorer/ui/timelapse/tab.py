"""The Time-lapse tab wired to the window through the panel protocol: it runs its views on
the text typed in the window, and the window hands it the run the Train tab trains or
follows (``set_run``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from explorer.ui.timelapse.view import TimeLapseView
from explorer.ui.widgets.panel import Panel, PanelHost


class TimeLapseTab(Panel):
    title = "Time-lapse"
    tooltip = ("A run's weight snapshots one after another: watch a head's attention and the "
               "output form as the loss falls")
    scene_views = ("timelapse",)

    def __init__(self, view: TimeLapseView | None = None) -> None:
        super().__init__(view if view is not None else TimeLapseView(), scroll=False)

    def attach(self, host: PanelHost) -> None:
        super().attach(host)
        self.view.error_occurred.connect(host.show_error)
        self.view.set_text(host.input_texts()[0])

    def set_run(self, path: str | Path) -> None:
        if path:
            self.view.set_run(path)

    def show_scene_view(self, view: str, scene: Any) -> None:
        """The scene's run, head, frame or training request (``apply_view_options``)."""
        if scene.view_options:
            self.view.apply_view_options(scene.view_options)

    def refresh(self, session: Any) -> None:
        if self.host is not None:
            self.view.set_text(self.host.input_texts()[0])
