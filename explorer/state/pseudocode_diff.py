"""The pseudocode diff (issue 30 §2): Algorithms 8, 9 and 10 side by side, one row per
line of the side-by-side (``explorer.state.architectures.ROWS``), with the rows where the
algorithms differ marked. Each model's own ``differences(cfg)`` is folded in, so a real
checkpoint's variants and extensions (RMSnorm, rotary positions, SwiGLU, pre- or
post-norm) are what its column says. Qt-free.

Two lines are the same when they say the same thing in each algorithm's names: the
encoder's Z and ℓ_z, the decoder's ℓ_x, the numbered γ, β and MLP weights of Algorithm 8
are read as the X, ℓ, γ_l, β_l and W_mlp of the others. The output row compares what P
means (the algorithms' "Output:" lines), not only ``return P = softmax(W_u X)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from explorer.state.architectures import ROWS
from explorer.trace.pseudocode import ALGORITHMS, differences

_SAME = (  # (pattern, replacement): names that differ between the algorithms only
    (r"ℓ_?[xz]", "ℓ"), (r"\bZ̃", "X̃"), (r"(?<!, )\bZ\b", "X"), (r"\bz\b", "x"),
    (r"\^(enc|dec)\b", ""), (r"L_(enc|dec)", "L"), (r"_l[¹²³⁴⁵]", "_l"),
    (r"mlp[13]", "mlp1"), (r"mlp[24]", "mlp2"), (r"\s+", " "),
)


def canonical(text: str) -> str:
    """``text`` with the names the algorithms do not share made alike."""
    for pattern, replacement in _SAME:
        text = re.sub(pattern, replacement, text)
    return text.strip()


@dataclass(frozen=True)
class DiffCell:
    """One algorithm's line in a row: its number (None: it has no such line), its text as
    the model computes it, and whether that is the paper's ("paper"), a variant the paper
    names ("variant") or not in the paper ("extension")."""

    line: int | None
    text: str
    kind: str = "paper"
    note: str = ""  # the variant or extension, in words


@dataclass(frozen=True)
class DiffRow:
    key: str
    label: str  # a few words (``SyncRow.short``)
    cells: tuple[DiffCell, ...]
    differs: bool  # not every algorithm says the same here

    def differs_between(self, a: int, b: int) -> bool:
        """Whether columns ``a`` and ``b`` differ on this row."""
        return _compared(self.cells[a]) != _compared(self.cells[b])


def _compared(cell: DiffCell) -> str | None:
    return None if cell.line is None else canonical(cell.text)


def _cell(row: Any, algorithm: int, half: str, cfg: Any | None,
          notes: dict) -> DiffCell:
    placement = cfg.norm_placement if cfg is not None else None
    line = row.line(algorithm, half, placement)
    if line is None:
        return DiffCell(None, "")
    alg = ALGORITHMS[algorithm]
    text = alg.lines[line - 1].strip()
    kind, note = "paper", ""
    found = notes.get((algorithm, line))
    if found is not None:
        text, kind = found.text, ("extension" if found.extension else "variant")
        note = found.label
    if row.key == "output":
        meaning = next((h for h in alg.header if h.startswith("Output:")), "")
        meaning = meaning.removeprefix("Output: ").split("; ")[-1]
        text = f"{text}   ({meaning})" if meaning else text
    return DiffCell(line, text, kind, note)


def pseudocode_diff(algorithms: list[int], cfgs: list[Any] | None = None,
                    half: str = "decoder") -> list[DiffRow]:
    """The rows of ``algorithms`` (e.g. [10, 9, 8]) side by side; ``cfgs`` (one per
    algorithm, or None for the paper as written) fold each model's differences in."""
    cfgs = cfgs if cfgs is not None else [None] * len(algorithms)
    notes = [differences(cfg) if cfg is not None else {} for cfg in cfgs]
    rows = []
    for row in ROWS:
        cells = tuple(_cell(row, a, half, c, n) for a, c, n in zip(algorithms, cfgs, notes))
        if all(c.line is None for c in cells):
            continue
        compared = {_compared(c) for c in cells}
        rows.append(DiffRow(row.key, row.short, cells, len(compared) > 1))
    return rows
