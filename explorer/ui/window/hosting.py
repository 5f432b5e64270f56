"""The window as its panels' host: adding the tabs the composition root gives, finding one by
title, and what a panel may ask of the window (``explorer.ui.widgets.panel.PanelHost``).
A mixin of ``MainWindow``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from explorer.ui.widgets.panel import Panel

if TYPE_CHECKING:
    from explorer.state import LoadedModel


# Panels shown as docks, not tabs (their ``dock`` is True). Their docks exist from the
# start (empty until torch is loaded), so a saved layout and View ▸ Reset layout place them.
DOCKED = ("Interventions",)


class PanelHosting:
    """Expects ``tabs``, ``panels``, ``session``, ``inputs``, ``_panel_factory`` and
    ``_on_model_loaded`` of ``MainWindow``."""

    def _build_panel_docks(self) -> None:
        """The docks of the ``DOCKED`` panels, each a tab beside the Paper panel."""
        self.panel_docks = {}
        for title in DOCKED:
            waiting = QLabel("Loading…")
            waiting.setAlignment(Qt.AlignmentFlag.AlignCenter)
            dock = self.add_dock(title, waiting, Qt.DockWidgetArea.RightDockWidgetArea)
            self.tabifyDockWidget(self.paper_dock, dock)
            self.panel_docks[title] = dock
        self.paper_dock.raise_()

    def _add_panel(self, panel: Panel) -> None:
        """Add ``panel``'s tab in the centre (after the others), or put it in its dock,
        and start calling it."""
        dock = self.panel_docks.get(panel.title) if getattr(panel, "dock", False) else None
        if dock is not None:
            dock.setWidget(panel.widget)
            if panel.tooltip:
                dock.setToolTip(panel.tooltip)
        else:
            index = self.tabs.addTab(panel.widget, panel.title)
            if panel.tooltip:
                self.tabs.setTabToolTip(index, panel.tooltip)
        self.panels.append(panel)
        panel.attach(self)
        if self.session is not None and self.session.trace is not None:
            panel.refresh(self.session)

    def panel(self, title: str) -> Panel:
        """The tab titled ``title`` (KeyError if there is none)."""
        for panel in self.panels:
            if panel.title == title:
                return panel
        raise KeyError(f"no {title!r} tab")

    def _add_late_panels(self) -> None:
        """Panels that import torch are created once it is loaded."""
        from explorer.ui.window.compose import connect_panels

        for panel in self._panel_factory():
            self._add_panel(panel)
        connect_panels(self.panels)

    def follow_run(self, path: str) -> bool:
        """Show a run another process writes in the Train tab, live and read-only (File ▸
        Follow a run…, ``--follow DIR``); before the tabs exist it waits for them."""
        if not self.panels:
            self._follow_dir = path
            return True
        try:
            train = self.panel("Train")
        except KeyError:
            self.show_error("This window has no Train tab to follow a run in.")
            return False
        if not train.follow(path):
            return False
        self.tabs.setCurrentWidget(train.widget)
        return True

    # -- what panels may ask (PanelHost) -------------------------------------------------
    def show_status(self, message: str, ms: int = 4000) -> None:
        self.statusBar().showMessage(message, ms)

    def show_model(self, loaded: LoadedModel) -> None:
        """Put ``loaded`` in the inspector, as if it had been opened."""
        if self.session is not None:
            self._on_model_loaded(loaded)

    def input_texts(self) -> tuple[str, str]:
        return self.inputs.text.toPlainText(), self.inputs.context.toPlainText()

    def set_input_text(self, text: str) -> None:
        self.inputs.text.setPlainText(text)

    def show_tab(self, title: str) -> None:
        if title == "Step":
            self.tabs.setCurrentIndex(0)
            return
        dock = self.panel_docks.get(title)
        if dock is not None:
            dock.show()
            dock.raise_()
            return
        self.tabs.setCurrentWidget(self.panel(title).widget)

    def show_token_loss(self, values: dict[int, float] | None, ids: dict[int, int],
                        objective: str) -> None:
        self.tokens_view.set_token_shading(values, ids, objective)

    def _tell_panels_text_edited(self, _text: str = "") -> None:
        for panel in self.panels:
            panel.text_edited()
