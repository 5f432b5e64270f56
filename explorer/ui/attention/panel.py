"""The Attention tab: one head's pattern, token-to-token lines and every head of every
layer, following the stepped-to head both ways."""

from __future__ import annotations

from typing import Any

from explorer.state.attention_data import AttentionSite
from explorer.state.interventions import head_marks
from explorer.ui.attention.intervene import cell_choices, head_choices, show_menu
from explorer.ui.attention.views import AttentionPanel
from explorer.ui.widgets.panel import Panel


def attention_prefix(step: Any) -> str | None:
    """``blocks.1.attn`` for a step inside an attention (self or cross), else None."""
    if step is None or step.block not in ("attn", "cross_attn") or step.layer is None:
        return None
    prefix = step.name.rpartition(".")[0]
    return prefix if prefix.endswith(("attn", "cross_attn")) else None


class AttentionTab(Panel):
    title = "Attention"
    tooltip = ("One head's pattern with the mask, token-to-token lines, and every head of "
               "every layer (click one to open it)")
    scene_views = ("attention", "heads", "lines")

    def __init__(self) -> None:
        super().__init__(AttentionPanel())
        self.view.head_selected.connect(self._on_head_selected)
        self.view.head_menu_requested.connect(self._on_head_menu)
        self.view.cell_menu_requested.connect(self._on_cell_menu)
        self.view.ablate_requested.connect(self._on_ablate_key)
        self.menu = None  # the open context menu (tests read it)
        self.anatomy = None  # the open head-anatomy dialog

    @property
    def main_view(self) -> Any:
        return self.view.pattern

    # -- interventions (issue 16) --------------------------------------------------------
    def _on_head_menu(self, prefix: str, layer: int, head: int, where) -> None:
        if self.session is not None:
            choices = [*head_choices(self.session, prefix, layer, head),
                       self.anatomy_choice(prefix, layer, head)]
            self.menu = show_menu(choices, where, self.view)

    def anatomy_choice(self, prefix: str, layer: int, head: int) -> tuple:
        """The head menu's "Anatomy…": its QK and OV circuits and its composition."""
        if self.session is None or self.session.cfg.arch != "decoder" or "cross" in prefix:
            return ("Anatomy of this head…", "Read for the heads of a decoder", None)

        def open_it() -> None:
            from explorer.analysis import AnalysisError
            from explorer.analysis.anatomy import head_anatomy
            from explorer.ui.attention.anatomy import HeadAnatomyDialog

            s = self.session
            try:
                anatomy = head_anatomy(s.model, layer, head)
            except AnalysisError as exc:
                s.say(f"No anatomy for this head: {exc}.")
                return
            self.anatomy = HeadAnatomyDialog(anatomy, s.tokenizer, s.cfg.n_heads, self.view)
            self.anatomy.show()
        return ("Anatomy of this head…", "Its QK and OV circuits through W_e and W_u, and "
                "its composition with the previous layer's heads", open_it)

    def _on_cell_menu(self, prefix: str, layer: int, head: int, key: int, query: int,
                      weight: float, where) -> None:
        if self.session is not None:
            choices = cell_choices(self.session, prefix, layer, head, key, query, weight,
                                   self.view)
            self.menu = show_menu(choices, where, self.view)

    def _on_ablate_key(self, prefix: str, layer: int, head: int) -> None:
        if self.session is not None:
            text, tip, run = head_choices(self.session, prefix, layer, head)[0]
            if run is None:
                self.session.say(tip + ".")
            else:
                run()
    def refresh(self, session: Any) -> None:
        x_labels, z_labels = session.trace_inputs
        self.view.set_trace(session.trace, x_labels, z_labels)
        self.view.set_kv_note(session.kv_note)
        self.view.grid.set_marks(head_marks(session.cfg, session.active_interventions))
        self.refresh_selection(session)

    def refresh_compare(self, session: Any) -> None:
        b = session.compare
        if b.ready:
            self.view.set_second(b.trace, b.labels, session.trace_inputs[1])
        elif b.trace is None:  # no text B, or one for a model that is gone
            self.view.set_second(None, None)

    def refresh_selection(self, session: Any) -> None:
        prefix = attention_prefix(session.step)
        if prefix is None:
            return
        wanted = (prefix, session.step.layer, session.head)
        if self.view.current != wanted:
            try:
                self.view.select(*wanted)
            except KeyError:
                pass  # the trace does not record this attention's pattern

    # -- scenes --------------------------------------------------------------------------
    def show_scene_view(self, view: str, scene: Any) -> None:
        """Open the scene's head (``explorer.state.scene.attention_prefix``) and comparison
        mode; ``heads`` and ``lines`` make sure the head grid or the lines pane has room."""
        from explorer.state.scene import attention_prefix as scene_prefix

        session = self.session
        if session is None or session.trace is None:
            return
        prefix = scene_prefix(session, scene)
        layer = AttentionSite.parse(prefix).layer
        self.refresh(session)  # it may have missed the trace while hidden
        self.view.select(prefix, layer, scene.head)
        if session.step is None or attention_prefix(session.step) != prefix:
            session.select_name(f"{prefix}.pattern")
        session.select_head(scene.head)
        self.view.set_mode(scene.view_options.get("mode", "A"))
        splitter, pane = {"heads": (self.view.splitter, 1),
                          "lines": (self.view.columns, 1)}.get(view, (None, 0))
        if splitter is not None and splitter.sizes()[pane] == 0:  # collapsed by the user
            total = sum(splitter.sizes()) or 1000
            splitter.setSizes([total * 3 // 5, total * 2 // 5])

    def scene_fields(self) -> dict[str, Any]:
        current = self.view.current
        if current is None:
            return {"view": "attention"}
        options = {"prefix": current[0]}
        if self.view.mode != "A":  # comparing with a text B
            options["mode"] = self.view.mode
        return {"view": "attention", "layer": current[1], "head": current[2],
                "view_options": options}

    def _on_head_selected(self, prefix: str, layer: int, head: int) -> None:
        session = self.session
        if session is None:
            return
        session.select_name(f"{prefix}.pattern")
        session.select_head(head)
