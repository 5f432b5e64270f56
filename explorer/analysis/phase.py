"""The phase change of a run, found in its curves rather than placed by hand. Qt-free.

``detect_change(steps, values, min_change)`` reads one curve (a score per snapshot): the
change between its first and its last values (the mean of the first and of the last
``EDGE`` share of the points), and where the curve covers 10 %, 50 % and 90 % of it. A
change smaller than ``min_change`` is "none"; one whose 10-90 % span is at most
``STEP_SPAN`` of the run (or between two neighbouring points) is a "step", a wider one a
"ramp".

``phase_change(series)`` applies it to the two curves Olsson et al. read the induction
bump from: the best prefix-matching score over the heads (a rise of at least 0.3) and
the in-context-learning score (a fall of at least 0.3 nats); the phase change is where
the first of them that changes does (prefix matching first).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from explorer.analysis.common import AnalysisError

EDGE = 0.1  # share of the points averaged at each end
STEP_SPAN = 0.15  # a 10-90 % span at most this share of the run is a step
MIN_PREFIX_RISE = 0.3
MIN_ICL_FALL = 0.3


@dataclass(frozen=True)
class Change:
    """One curve's change: ``kind`` "step", "ramp" or "none"; the steps where it covers
    10 % (``start``), 50 % (``middle``) and 90 % (``end``) of it (None for "none");
    ``before`` and ``after`` the values at the two ends; ``curve`` what was read."""

    kind: str
    before: float
    after: float
    start: int | None = None
    middle: int | None = None
    end: int | None = None
    curve: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "curve": self.curve, "start": self.start,
                "middle": self.middle, "end": self.end,
                "before": round(self.before, 4), "after": round(self.after, 4)}


def _first_reach(steps: np.ndarray, progress: np.ndarray, level: float) -> int:
    """The step where ``progress`` (0 -> 1) first reaches ``level`` for good: the first
    point after the last one below it."""
    below = np.nonzero(progress < level)[0]
    i = int(below[-1]) + 1 if below.size else 0
    return int(steps[min(i, len(steps) - 1)])


def detect_change(steps: Sequence[int], values: Sequence[float], min_change: float,
                  curve: str = "") -> Change:
    """The change of one curve (``min_change`` > 0: a rise; < 0: a fall of at least
    |min_change|)."""
    s = np.asarray(steps, dtype=np.int64)
    v = np.asarray(values, dtype=np.float64)
    if s.shape != v.shape or s.ndim != 1:
        raise AnalysisError("the steps and the values of a curve must be two lists of "
                            "the same length")
    if len(s) < 3:
        raise AnalysisError(f"a phase change needs at least 3 points, not {len(s)}")
    k = max(1, int(round(EDGE * len(s))))
    before, after = float(v[:k].mean()), float(v[-k:].mean())
    change = after - before
    if change * np.sign(min_change) < abs(min_change):
        return Change("none", before, after, curve=curve)
    progress = (v - before) / change
    start, middle, end = (_first_reach(s, progress, q) for q in (0.1, 0.5, 0.9))
    gaps = np.diff(s)
    span = end - start
    i_end = int(np.searchsorted(s, end))
    neighbours = i_end > 0 and span <= int(gaps[max(0, i_end - 1)])
    kind = "step" if span <= STEP_SPAN * (s[-1] - s[0]) or neighbours else "ramp"
    return Change(kind, before, after, start, middle, end, curve)


def phase_change(steps: Sequence[int], prefix_matching: Sequence[float],
                 icl: Sequence[float]) -> tuple[Change, Change, Change]:
    """(the phase change, the prefix-matching curve's change, the ICL curve's change) of a
    run: ``prefix_matching`` the best head's score per snapshot, ``icl`` the ICL score."""
    prefix = detect_change(steps, prefix_matching, MIN_PREFIX_RISE, "prefix_matching")
    learned = detect_change(steps, icl, -MIN_ICL_FALL, "icl")
    return (prefix if prefix.kind != "none" else learned), prefix, learned
