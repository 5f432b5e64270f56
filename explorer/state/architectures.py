"""Architectures side by side (issue 30): two or three models on the same text, stepping
in sync by the paper's line. Qt-free.

The paper's three architectures number their lines differently (self-attention is line 6
of Algorithm 10, line 5 of Algorithm 9, lines 5 and 14 of Algorithm 8), so the columns
step together by what a line does: ``ROWS`` lists those rows in the order of a forward
pass, each with its line in each algorithm or none (cross-attention has no line in
Algorithms 9 and 10; the final norm none in 8). Algorithm 8 has two halves: its column
shows the decoder's lines (``half="decoder"``, the default) or the encoder's.

```python
sync = SideBySide([default_model(a) for a in ARCHS], "the king sings .")
sync.set_row("cross_attn")
for column in sync.columns: print(column.algorithm, column.line, column.note)
```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from psygnal import Signal

from explorer.state.defaults import DEFAULT_CONTEXT, LoadedModel
from explorer.state.session import Session

HALVES = ("decoder", "encoder")  # which half of Algorithm 8 its column follows


# The norm lines of each algorithm (8: its decoder's and its encoder's): a model puts them
# before its sub-block (pre-norm) or after it (post-norm), whatever the paper's placement.
NORM_LINES = {"attn": {10: 5, 9: 6, "8-encoder": 6, "8-decoder": 15},
              "cross": {"8-decoder": 17},
              "mlp": {10: 7, 9: 8, "8-encoder": 8, "8-decoder": 19}}
PAPER_PLACEMENT = {10: "pre", 9: "post", 8: "post"}  # as Algorithms 8-10 are written


@dataclass(frozen=True)
class SyncRow:
    """One step of the side-by-side: what the line does, and its line in each algorithm
    (``lines[10]``, ``lines[9]``, and Algorithm 8's as ``lines["8-decoder"]`` and
    ``lines["8-encoder"]``); a missing key: that algorithm has no such line. A norm row
    (``norm``: which norm and "pre" or "post") has the line of a model that places that
    norm so."""

    key: str
    label: str
    lines: dict[Any, int] = field(default_factory=dict)
    prefer: str = ""  # the step shown, by the end of its name (else the line's result)
    norm: tuple[str, str | None] | None = None
    short: str = ""  # a few words for the pseudocode diff's row names

    def line(self, algorithm: int, half: str = "decoder",
             placement: str | None = None) -> int | None:
        """The line of ``algorithm`` (of Algorithm 8's ``half``) for a model whose norms
        are ``placement`` ("pre"/"post"; None: as the paper writes it)."""
        key = f"8-{half}" if algorithm == 8 else algorithm
        if self.norm is None:
            return self.lines.get(key)
        which, wanted = self.norm
        placement = placement or PAPER_PLACEMENT[algorithm]
        return NORM_LINES[which].get(key) if wanted in (None, placement) else None


ROWS: tuple[SyncRow, ...] = (
    SyncRow("ids", "the token ids", {10: 1, 9: 1, "8-encoder": 1, "8-decoder": 10}, "ids",
            short="token ids"),
    SyncRow("embed", "token + position embedding",
            {10: 2, 9: 2, "8-encoder": 2, "8-decoder": 11}, short="embedding"),
    SyncRow("norm_attn_pre", "layer norm before self-attention (pre-norm)",
            norm=("attn", "pre"), short="norm before attention"),
    SyncRow("self_attn", "self-attention and its mask",
            {10: 6, 9: 5, "8-encoder": 5, "8-decoder": 14}, "pattern", short="self-attention"),
    SyncRow("norm_attn_post", "layer norm after self-attention (post-norm)",
            norm=("attn", "post"), short="norm after attention"),
    SyncRow("cross_attn", "cross-attention to the encoder's Z", {"8-decoder": 16}, "pattern",
            short="cross-attention"),
    SyncRow("norm_cross", "layer norm of cross-attention", norm=("cross", None),
            short="cross-attention norm"),
    SyncRow("norm_mlp_pre", "layer norm before the MLP (pre-norm)", norm=("mlp", "pre"),
            short="norm before MLP"),
    SyncRow("mlp", "the MLP's activation (GELU or ReLU)",
            {10: 8, 9: 7, "8-encoder": 7, "8-decoder": 18}, "mlp.hidden", short="MLP activation"),
    SyncRow("norm_mlp_post", "layer norm after the MLP (post-norm)", norm=("mlp", "post"),
            short="norm after MLP"),
    SyncRow("head", "the MLM head: GELU(W_f X + b_f 1ᵀ)", {9: 10}, short="MLM head"),
    SyncRow("final_norm", "the final layer norm", {10: 10, 9: 11}, short="final norm"),
    SyncRow("output", "the output P = softmax(W_u X)", {10: 11, 9: 12, "8-decoder": 21},
            short="output P"),
)
ROW_KEYS = tuple(r.key for r in ROWS)


def row_index(key: str) -> int:
    """The index of row ``key`` (ValueError naming the rows there are)."""
    if key not in ROW_KEYS:
        raise ValueError(f"no line {key!r} to step to; one of {', '.join(ROW_KEYS)}")
    return ROW_KEYS.index(key)


def step_for_line(steps, algorithm: int, line: int, layer: int, stack: str | None,
                  prefer: str = "") -> int | None:
    """The step that shows ``line`` of ``algorithm`` in 0-based ``layer`` (of ``stack``):
    the one whose name ends with ``prefer`` (an attention's pattern), else the line's own
    result (its last step); None when the trace has no step of that line."""
    hits = [i for i, s in enumerate(steps)
            if ((s.algorithm == algorithm and s.line == line) or s.outer == (algorithm, line))
            and (stack is None or s.stack in (stack, None))]
    if not hits:
        return None
    layered = [i for i in hits if steps[i].layer is not None]
    if layered:
        layers = sorted({steps[i].layer for i in layered})
        wanted = layer if layer in layers else layers[-1]
        hits = [i for i in layered if steps[i].layer == wanted]
    preferred = [i for i in hits if prefer and steps[i].name.endswith(prefer)]
    own = [i for i in hits if (steps[i].algorithm, steps[i].line) == (algorithm, line)]
    return preferred[0] if preferred else (own or hits)[-1]


@dataclass
class Column:
    """One model's column: its session (the model on the shared text) and where it is."""

    session: Session
    algorithm: int = 0
    line: int | None = None  # its algorithm's line at the current row, None: no such line
    note: str = ""  # what the column says: the line, or why there is none

    @property
    def label(self) -> str:
        cfg = self.session.cfg
        return f"{cfg.algorithm_name} · {self.session.loaded.label}"


class SideBySide:
    """Columns of models on one text, all at the same row of ``ROWS``.

    Events (psygnal, past tense): ``columns_changed`` (models, text or their traces are
    new), ``line_changed`` (the row, layer, head or half moved; each column's session
    has its step selected)."""

    columns_changed = Signal()
    line_changed = Signal()

    def __init__(self, models: list[LoadedModel], text: str,
                 context: str = DEFAULT_CONTEXT) -> None:
        if not 1 <= len(models) <= 3:
            raise ValueError(f"side by side shows one to three models, not {len(models)}")
        self.text, self.context = text, context
        self.row = row_index("self_attn")
        self.layer = 0  # 0-based
        self.head = 0  # 0-based
        self.half = "decoder"
        self.columns = [Column(Session(m, text, context)) for m in models]
        self._record()

    # -- models and text -----------------------------------------------------------------
    def set_models(self, models: list[LoadedModel]) -> None:
        if not 1 <= len(models) <= 3:
            raise ValueError(f"side by side shows one to three models, not {len(models)}")
        self.columns = [Column(Session(m, self.text, self.context)) for m in models]
        self._record()

    def set_text(self, text: str, context: str | None = None) -> None:
        """The same text x (and context z, for an encoder-decoder) in every column."""
        self.text = text
        self.context = self.context if context is None else context
        for column in self.columns:
            column.session.set_text(text)
            column.session.set_context(self.context)
        self._record()

    def set_weights(self, models: list[tuple[LoadedModel, int | None]]) -> int:
        """New weights (training's, with their step) for the columns whose model they are
        (``Session.same_model``); those columns record again. Returns how many took them."""
        taken = 0
        for column in self.columns:
            match = next(((m, step) for m, step in models if column.session.same_model(m)),
                         None)
            if match is not None:
                column.session.set_weights(*match)
                taken += 1
        if taken:
            self._record()
        return taken

    def _record(self) -> None:
        for column in self.columns:
            column.session.record_now()
        self._select()
        self.columns_changed.emit()
        self.line_changed.emit()

    # -- stepping ------------------------------------------------------------------------
    @property
    def current(self) -> SyncRow:
        return ROWS[self.row]

    def set_row(self, row: int | str) -> None:
        self.row = row_index(row) if isinstance(row, str) else max(0, min(len(ROWS) - 1, row))
        self._moved()

    def step_by(self, delta: int) -> None:
        """The next (previous) row that some column has a line for: a row no model has
        (post-norm rows for pre-norm models) is passed over; at the end, stay."""
        row = self.row + delta
        while 0 <= row < len(ROWS) and not self._has_line(ROWS[row]):
            row += 1 if delta > 0 else -1
        if 0 <= row < len(ROWS):
            self.set_row(row)

    def _has_line(self, row: SyncRow) -> bool:
        return any(row.line(int(c.session.cfg.algorithm), self.half,
                            c.session.cfg.norm_placement) is not None for c in self.columns)

    def set_layer(self, layer: int) -> None:
        """0-based; a column with fewer layers shows its last."""
        self.layer = max(0, int(layer))
        self._moved()

    def set_head(self, head: int) -> None:
        self.head = max(0, int(head))
        self._moved()

    def set_half(self, half: str) -> None:
        if half not in HALVES:
            raise ValueError(f"half {half!r}: one of {', '.join(HALVES)}")
        self.half = half
        self._moved()

    def _moved(self) -> None:
        self._select()
        self.line_changed.emit()

    def _select(self) -> None:
        """Each column to its algorithm's line at the current row, or its "no such line"."""
        row = self.current
        for column in self.columns:
            s = column.session
            column.algorithm = alg = int(s.cfg.algorithm)
            column.line = line = row.line(alg, self.half, s.cfg.norm_placement)
            where = f"the {self.half}'s " if alg == 8 else ""
            if line is None:
                column.note = (f"Algorithm {alg} has no line for {row.label}"
                               + (f" in {where}half" if alg == 8 else ""))
                continue
            stack = self.half if alg == 8 else None
            index = None if s.trace is None else step_for_line(s.steps, alg, line, self.layer,
                                                                stack, row.prefer)
            if index is None:
                column.line = None
                column.note = f"this model records no step for line {line} of Algorithm {alg}"
                continue
            s.select_step(index)
            s.select_head(min(self.head, s.n_heads - 1))
            column.note = f"Algorithm {alg}, {where}line {line}: {s.step.title}"


# -- scenes -------------------------------------------------------------------------------
def default_models() -> list[LoadedModel]:
    """The bundled decoder, encoder and encoder-decoder (a seeded one where none is)."""
    from explorer.state.defaults import ARCHS, default_model

    return [default_model(arch) for arch in ARCHS]


def scene_options(sync: SideBySide) -> dict[str, Any]:
    """The scene's ``view_options`` that reopen ``sync``: the line, the half of Algorithm 8
    and the models (each ``{"arch", "model", "seed"}`` as a scene names a model)."""
    from explorer.state.scene import model_reference

    models = []
    for column in sync.columns:
        model, seed = model_reference(column.session.loaded)
        models.append({"arch": column.session.arch, "model": model, "seed": seed})
    return {"line": sync.current.key, "half": sync.half, "models": models}


def models_from_options(options: dict[str, Any]) -> list[LoadedModel] | None:
    """The models a scene's ``view_options["models"]`` names (None: the default three).
    ValueError naming a model that cannot be loaded."""
    from explorer.state.scene import Scene, resolve_model

    named = options.get("models")
    if named is None:
        return None
    if not isinstance(named, list) or not 1 <= len(named) <= 3:
        raise ValueError("view_options.models must list one to three models")
    models = []
    for entry in named:
        if not isinstance(entry, dict) or "arch" not in entry:
            raise ValueError(f"a side-by-side model must name its arch: {entry!r}")
        scene = Scene(arch=entry["arch"], model=entry.get("model"),
                      seed=int(entry.get("seed", 0)))
        scene.validate()
        models.append(resolve_model(scene))
    return models


def apply_options(sync: SideBySide, options: dict[str, Any], layer: int, head: int) -> None:
    """Put a scene's line, half, layer and head (0-based) into ``sync``."""
    half = options.get("half", "decoder")
    if half not in HALVES:
        raise ValueError(f"view_options.half {half!r}: one of {', '.join(HALVES)}")
    sync.half, sync.layer, sync.head = half, max(0, layer), max(0, head)
    sync.set_row(str(options.get("line", "self_attn")))
