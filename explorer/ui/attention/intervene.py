"""Interventions offered on the attention views (issue 16): right-click a head in the grid
(or press X on it) to ablate it, mean-ablate it or patch it from text B; right-click a cell
of the open pattern to set that weight, make the query attend to that key alone, or knock
the key out of every head of the layer. Each choice adds an intervention to the session
(``session.add_intervention``); the Interventions dock lists and removes them.

``head_choices`` / ``cell_choices`` return (text, tooltip, action or None) so that tests
can trigger a choice without opening a menu; ``None`` means not possible here (the
tooltip says why).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QInputDialog, QMenu, QWidget

from explorer.state.attention_data import AttentionSite
from explorer.state.interventions import describe, stack_of

Choice = tuple[str, str, Callable[[], Any] | None]


def _cross(prefix: str) -> bool:
    return AttentionSite.parse(prefix).cross


def head_choices(session: Any, prefix: str, layer: int, head: int) -> list[Choice]:
    """What the grid's menu offers for head ``head`` (0-based) of attention ``prefix``."""
    from explorer.analysis import AblateHead, AnalysisError, Patch

    title = AttentionSite.parse(prefix).title(head)
    if _cross(prefix):
        why = ("Interventions on cross-attention heads are not offered: ablate or patch a "
               "self-attention head, or the layer's MLP")
        return [(f"Zero-ablate {title}", why, None)]
    stack = stack_of(prefix)
    b = session.compare
    choices: list[Choice] = [
        (f"Zero-ablate {title}", "Set this head's output Y^h to 0 (X)",
         lambda: session.add_intervention(AblateHead(layer, head, "zero", stack=stack))),
        (f"Mean-ablate {title}", "Set Y^h to its mean over the text's positions",
         lambda: session.add_intervention(AblateHead(layer, head, "mean", stack=stack))),
    ]

    def from_b(make: Callable[[tuple[int, ...]], Any]) -> Callable[[], Any]:
        def add() -> bool:
            try:
                source = session.source_ids(b.text)
            except AnalysisError as exc:
                session.say(f"Cannot use text B: {exc}.")
                return False
            return session.add_intervention(make(source))
        return add

    need_b = "Type a text B first (Ctrl+B: compare with a second text)"
    choices.append((
        f"Mean-ablate {title} over text B",
        "Set Y^h to its mean over text B's positions" if b.active else need_b,
        from_b(lambda src: AblateHead(layer, head, "mean", reference=src, stack=stack))
        if b.active else None))
    choices.append((
        f"Patch {title} from text B",
        "Replace this head's output by its output on text B (texts of the same length)"
        if b.active else need_b,
        from_b(lambda src: Patch("head_out", layer, src, head=head, stack=stack))
        if b.active else None))
    mine = [i for i, iv in enumerate(session.interventions)
            if getattr(iv, "head", None) == head and iv.layer == layer
            and getattr(iv, "stack", None) == stack]
    if mine:
        def remove() -> None:
            for i in reversed(mine):
                session.remove_intervention(i)
        choices.append((f"Remove this head's interventions ({len(mine)})",
                        "; ".join(describe(session.interventions[i]) for i in mine),
                        remove))
    return choices


def cell_choices(session: Any, prefix: str, layer: int, head: int, key: int, query: int,
                 weight: float, parent: QWidget | None = None) -> list[Choice]:
    """What the pattern's menu offers for the weight A[key, query] of one head."""
    from explorer.analysis import EditAttention, KnockOutKey, OneHotAttention

    if _cross(prefix):
        return [("Edit this weight", "Edits of cross-attention weights are not offered",
                 None)]
    stack = stack_of(prefix)
    t_key, t_query = key + 1, query + 1

    def edit(renormalise: bool) -> Callable[[], Any]:
        def ask() -> bool:
            value, ok = QInputDialog.getDouble(
                parent, "Set an attention weight",
                f"A[t_z = {t_key}, t_x = {t_query}] (now {weight:.4f}), from 0 to 1:",
                round(weight, 4), 0.0, 1.0, 4)
            if not ok:
                return False
            return session.add_intervention(EditAttention(
                layer, head, query, key, float(value), renormalise, stack=stack))
        return ask

    return [
        (f"Set A[{t_key}, {t_query}] (renormalise the column)…",
         "Set this weight and scale the query's other weights so the column sums to 1",
         edit(True)),
        (f"Set A[{t_key}, {t_query}] (leave the rest)…",
         "Set this weight only: the column no longer sums to 1", edit(False)),
        (f"Query {t_query} attends only to key {t_key}",
         "A one-hot column: weight 1 on this key, 0 elsewhere",
         lambda: session.add_intervention(OneHotAttention(layer, head, query, key,
                                                          stack=stack))),
        (f"Knock key {t_key} out of every head of this layer",
         "Weight 0 on this key for every query and head; the rest renormalised",
         lambda: session.add_intervention(KnockOutKey(layer, key, stack=stack))),
    ]


def show_menu(choices: list[Choice], where: QPoint, parent: QWidget) -> QMenu:
    """The choices as a context menu at ``where`` (global coordinates)."""
    menu = QMenu(parent)
    menu.setToolTipsVisible(True)
    for text, tip, run in choices:
        action = menu.addAction(text)
        action.setToolTip(tip)
        action.setEnabled(run is not None)
        if run is not None:
            action.triggered.connect(lambda _=False, run=run: run())
    menu.popup(where)
    return menu
