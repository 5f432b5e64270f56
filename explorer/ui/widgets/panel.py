"""The panel protocol: how a feature's tab and the window talk.

A feature package (``explorer.ui.attention``, ``output``, ``infer``, ``train``, …) gives
the window a ``Panel``: its ``widget`` (the tab's content), ``title`` and ``tooltip``, and
the calls it needs. The window (``explorer.ui.window``, which alone knows every panel)
keeps a list and calls, for each panel:

- ``attach(host)`` once, when the tab is added: ``host`` is what the panel may ask of the
  window (``PanelHost``); features never import the window;
- ``refresh(session)`` after each new trace; ``refresh_selection(session)`` after each
  change of the selected step or head; a panel the user cannot see gets these when it
  is shown or typing pauses, for everything it missed at once (unless ``refresh_hidden``);
- ``model_changed(session)`` after a model replaced the previous one;
- ``weights_changed(session)`` after new weights of the same model (training): the new
  trace follows through ``refresh``; a panel keeps its state and updates in place
  (default: as ``model_changed``, for a panel that holds the model itself);
- ``text_edited()`` as the user types (before the trace follows);
- ``may_replace_model(what) -> bool`` before the user's choice of another model replaces
  the one shown (False: keep it; the panel has said why);
- ``confirm_close() -> bool`` when the window is about to close (False keeps it open);
- ``busy() -> bool``: still computing for the current trace (``bench ui --tab``);
- ``shutdown()`` once, when the window closes (stop timers and threads).

Scenes (``explorer.state.scene``) talk to panels through a declaration, not class names:
``scene_views`` lists the scene views a panel can show (names from
``explorer.state.scene.VIEWS``; the Step tab, which is the window's own, shows ``step``). A
scene is opened only if some panel of the window declares its view; the window then brings
that panel to the front and calls ``show_scene_view(view, scene)``. Saving a scene asks the
panel in front for ``scene_fields()``.

``Panel`` implements each as doing nothing, so a feature overrides only what it needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtWidgets import QWidget

from explorer.ui.widgets.scroll import scrollable

if TYPE_CHECKING:
    from explorer.state import LoadedModel, Session


class PanelHost(Protocol):
    """What a panel may ask of the window."""

    session: Session | None

    def show_error(self, message: str) -> None:
        """A message for the user in the banner above the views."""

    def show_status(self, message: str, ms: int = 4000) -> None:
        """A passing note in the status bar."""

    def show_model(self, loaded: LoadedModel) -> None:
        """Put ``loaded`` in the inspector (every view follows it)."""

    def show_weights(self, loaded: LoadedModel, step: int | None = None) -> None:
        """New weights (training ``step``) of the model shown: every view keeps its
        state and follows them; ``loaded`` being another model, as ``show_model``."""

    def input_texts(self) -> tuple[str, str]:
        """The text and the context (encoder-decoder) as typed."""

    def set_input_text(self, text: str) -> None:
        """Replace the typed text (the inspector follows it)."""

    def show_tab(self, title: str) -> None:
        """Bring the tab titled ``title`` to the front."""

    def show_token_loss(self, values: dict[int, float] | None, ids: dict[int, int],
                        objective: str) -> None:
        """Colour the tokens of the Input panel by their loss: ``values`` maps the index of
        a token of the text to its loss in nats (None clears), ``ids`` the token id each
        value was computed for (a token that changed since is not coloured)."""


class Panel:
    """One tab of the window. ``view`` is the feature's widget; ``widget`` is what the tab
    shows (``view`` in a scroll area unless ``scroll`` is False, so a large minimum size
    never forces the window larger)."""

    title = ""
    tooltip = ""
    # The window refreshes a panel the user cannot see (a tab not in front, a dock behind
    # another) only when it is shown or typing pauses; True: at every change, for a
    # cheap panel that reacts to changes even while hidden (brings itself to the front).
    refresh_hidden = False
    # The scene views (``explorer.state.scene.VIEWS``) this panel shows; the first is the
    # one a scene saved while the panel is in front names.
    scene_views: tuple[str, ...] = ()
    # True: the panel names what it shows itself (presentation mode shows no step overlay)
    own_title = False

    def __init__(self, view: QWidget, scroll: bool = True) -> None:
        self.view = view
        self.widget = scrollable(view) if scroll else view
        self.host: PanelHost | None = None

    @property
    def main_view(self) -> QWidget:
        """The tab's main view, which a small screen must leave room for (the window's
        compact layout): the tab's page, unless the panel names its plot."""
        return self.widget

    def attach(self, host: PanelHost) -> None:
        self.host = host

    @property
    def session(self) -> Session | None:
        return self.host.session if self.host is not None else None

    def refresh(self, session: Session) -> None:
        """A new trace."""

    def refresh_selection(self, session: Session) -> None:
        """The selected step or head changed."""

    def refresh_compare(self, session: Session) -> None:
        """The second text B (``session.compare``) changed: set, recorded or cleared."""

    def model_changed(self, session: Session) -> None:
        """A model replaced the previous one."""

    def weights_changed(self, session: Session) -> None:
        """The model shown has new weights (``session.weights_step``); everything else is
        as it was. A panel that holds the model itself takes the new one here."""
        self.model_changed(session)

    def text_edited(self) -> None:
        """The user edited the text."""

    def may_replace_model(self, what: str) -> bool:
        """The user chose ``what`` (a sentence: "the encoder model") to replace the model."""
        return True

    def confirm_close(self) -> bool:
        return True

    def busy(self) -> bool:
        """True while the panel still computes for the current trace (off the GUI thread)."""
        return False

    def show_scene_view(self, view: str, scene: Any) -> None:
        """Show ``view`` (one of ``scene_views``) as ``scene`` (an
        ``explorer.state.scene.Scene``, its step and head already selected in the session)
        describes it; the panel is in front. ValueError/KeyError: the scene's options do
        not fit this model (the window shows the message)."""

    def scene_fields(self) -> dict[str, Any]:
        """The scene fields (``view``, and ``layer``, ``head``, ``view_options`` where they
        matter) that reopen what the panel shows now; {} when it shows no scene view."""
        return {"view": self.scene_views[0]} if self.scene_views else {}

    def shutdown(self) -> None:
        stop: Any = getattr(self.view, "shutdown", None)
        if callable(stop):
            stop()
