"""The window as its panels' host: adding the tabs the composition root gives, finding one by
title, and what a panel may ask of the window (``explorer.ui.widgets.panel.PanelHost``).
A mixin of ``MainWindow``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLabel

from explorer.ui.widgets.panel import Panel

if TYPE_CHECKING:
    from explorer.state import LoadedModel


# Panels shown as docks, not tabs (their ``dock`` is True). Their docks exist from the
# start (empty until torch is loaded), so a saved layout and View ▸ Reset layout place them.
DOCKED = ("Interventions",)
CATCH_UP_MS = 300  # after the last change, hidden panels catch up (typing has paused)


class PanelHosting:
    """Expects ``tabs``, ``panels``, ``session``, ``inputs``, ``_panel_factory``,
    ``_runner``, ``_compare_runner``, ``weights_loaded`` and ``_on_model_loaded`` of
    ``MainWindow``."""

    def _build_panel_docks(self) -> None:
        """The docks of the ``DOCKED`` panels, each a tab beside the Paper panel."""
        self.panel_docks = {}
        for title in DOCKED:
            waiting = QLabel("Loading…")
            waiting.setAlignment(Qt.AlignmentFlag.AlignCenter)
            dock = self.add_dock(title, waiting, Qt.DockWidgetArea.RightDockWidgetArea)
            self.tabifyDockWidget(self.paper_dock, dock)
            self.panel_docks[title] = dock
            dock.visibilityChanged.connect(self._catch_up_shown)
        self.paper_dock.raise_()
        # Panels the user cannot see are not refreshed on each keystroke: they are marked
        # stale and catch up when shown, or once typing pauses (``CATCH_UP_MS``).
        self._stale: dict[Panel, set[str]] = {}
        self._catch_up_timer = QTimer(self)
        self._catch_up_timer.setSingleShot(True)
        self._catch_up_timer.timeout.connect(self._catch_up_next)
        self.tabs.currentChanged.connect(self._catch_up_shown)
        self._shown_check = QTimer(self)
        self._shown_check.setSingleShot(True)
        self._shown_check.setInterval(0)
        self._shown_check.timeout.connect(self._catch_up_visible)

    # -- refreshing the panels -----------------------------------------------------------
    def panel_shown(self, panel: Panel) -> bool:
        """Whether the user can see ``panel`` (its tab is the current one, its dock is open
        and in front), or would once the window is shown. (A dock behind another dock's
        tab is not hidden but moved out of sight: it has no visible region.)"""
        widget = panel.widget
        if not widget.isVisibleTo(self):
            return False
        if self.tabs.indexOf(widget) >= 0:
            return self.tabs.currentWidget() is widget
        return not self.isVisible() or not widget.visibleRegion().isEmpty()

    def _refresh_panels(self, what: str) -> None:
        """Tell the panels the session's ``what`` changed ("trace", "selection" or
        "compare"): those shown now, the others when they are shown or typing pauses."""
        for panel in self.panels:
            if panel.refresh_hidden or self.panel_shown(panel):
                self._refresh_panel(panel, {what})
            else:
                self._stale.setdefault(panel, set()).add(what)
        if self._stale:
            self._catch_up_timer.start(CATCH_UP_MS)

    def _refresh_panel(self, panel: Panel, what: set[str]) -> None:
        s = self.session
        if s is None:
            return
        if s.trace is not None and "trace" in what:
            panel.refresh(s)
        if "compare" in what:
            panel.refresh_compare(s)
        if s.trace is not None and what & {"trace", "selection"}:
            panel.refresh_selection(s)

    def catch_up(self, panel: Panel) -> None:
        """Bring ``panel`` up to date now, if it missed a change while hidden."""
        what = self._stale.pop(panel, None)
        if what:
            self._refresh_panel(panel, what)

    def _catch_up_shown(self, *_args) -> None:
        """A tab or dock came to the front: its panel catches up now."""
        self._catch_up_visible()
        if self._stale:  # a dock's new place is laid out after it says it is shown
            self._shown_check.start()

    def _catch_up_visible(self) -> None:
        for panel in list(self._stale):
            if self.panel_shown(panel):
                self.catch_up(panel)

    def _catch_up_next(self) -> None:
        """One hidden panel caught up per turn of the event loop, while nothing waits."""
        if not self._stale or self._closing:
            return
        if self.typing():
            self._catch_up_timer.start(CATCH_UP_MS)
            return
        self.catch_up(next(iter(self._stale)))
        if self._stale:
            self._catch_up_timer.start(0)  # the next one after the events waiting now

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
            self._stale[panel] = {"trace", "compare"}
            if self.panel_shown(panel):
                self.catch_up(panel)
            else:
                self._catch_up_timer.start(CATCH_UP_MS)

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

    def show_weights(self, loaded: LoadedModel, step: int | None = None) -> None:
        """New weights for the inspector (a training snapshot at ``step``): the same model
        (``Session.same_model``) keeps everything and follows them; another one is shown
        as a new model."""
        s = self.session
        if s is None or self._closing:
            return
        if s.same_model(loaded):
            s.set_weights(loaded, step)
        else:
            self._on_model_loaded(loaded)

    def _on_weights_changed(self) -> None:
        """The session's model has new weights: record A and B again (with the
        interventions), name the weights, and let each panel update in place."""
        s = self.session
        if s is None or self._closing:
            return
        self._runner.submit(s.request())
        self._compare_runner.submit(s.compare.request())
        loaded = s.loaded
        self._set_model_label(f"{loaded.cfg.algorithm_name} · {loaded.label}")
        self.model_label.setToolTip(self._model_tip(loaded))
        self.setWindowTitle(f"Transformer Explorer — {loaded.cfg.algorithm_name} · "
                            f"{loaded.label}")
        for panel in self.panels:
            panel.weights_changed(s)
        self.weights_loaded.emit(loaded.label)

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
