"""The progress measures of a run's heads over its snapshots, for the Time-lapse. Qt-free.

```python
table = ProgressTable()
table.add(measure_snapshots(run.snapshots, run.tokenizer, table.known))  # slow part
steps, values = table.steps, table.values("prefix_matching")   # values (n, L, H)
table.icl()                                                     # (n,) nats
table.phase()          # the phase change (explorer.analysis.phase), None under 3 points
circuit_at(run.snapshots[-1], run.tokenizer)   # the ablation proof at a snapshot
```

Each snapshot is measured once (``explorer.analysis.heads.head_scores`` on the same fresh
repeated sequences for every snapshot); ``measure_snapshots`` runs on a worker thread and
returns only what the table does not know yet, which the window's thread then ``add``s.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from explorer.analysis.heads import HeadScores, head_scores, repeated_sequences, usable_ids
from explorer.analysis.induction_circuit import CircuitProof, prove_circuit
from explorer.analysis.phase import Change, phase_change
from explorer.train.snapshots import SnapshotFile, load_snapshot

MEASURES = {
    "prefix_matching": "prefix matching (induction)",
    "previous_token": "previous token",
    "duplicate_token": "duplicate token",
    "copying": "OV copying (Σλ / Σ|λ|)",
    "icl": "ICL score (late − early loss, nats)",  # one per model: (n, 1, 1)
}


def measure_snapshots(snapshots: Sequence[SnapshotFile], tokenizer: Any,
                      known: frozenset[str] = frozenset(),
                      check: Callable[[], None] | None = None) -> dict[str, HeadScores]:
    """The scores of every snapshot whose path is not in ``known``, by path (``check()``
    between snapshots may raise to stop). ValueError for a model the scores do not fit."""
    out: dict[str, HeadScores] = {}
    x = None
    for snap in snapshots:
        if str(snap.path) in known:
            continue
        if check is not None:
            check()
        model = load_snapshot(snap.path)
        x = _sequences(model, tokenizer) if x is None else x
        out[str(snap.path)] = head_scores(model, x, snap.step)
    return out


def _sequences(model: Any, tokenizer: Any) -> Any:
    return repeated_sequences(usable_ids(model.cfg.vocab_size, tokenizer), model.cfg.l_max)


def circuit_at(snapshot: SnapshotFile, tokenizer: Any) -> CircuitProof | None:
    """The ablation proof of the induction circuit with the weights of ``snapshot``
    (``explorer.analysis.induction_circuit``); None for a one-layer model."""
    model = load_snapshot(snapshot.path)
    return prove_circuit(model, _sequences(model, tokenizer))


class ProgressTable:
    """The measured snapshots of one run, in step order."""

    def __init__(self) -> None:
        self._by_path: dict[str, HeadScores] = {}

    @property
    def known(self) -> frozenset[str]:
        return frozenset(self._by_path)

    def add(self, scores: dict[str, HeadScores]) -> None:
        self._by_path.update(scores)

    def clear(self) -> None:
        self._by_path.clear()

    @property
    def rows(self) -> list[HeadScores]:
        return sorted(self._by_path.values(), key=lambda r: r.step or 0)

    @property
    def steps(self) -> list[int]:
        return [r.step or 0 for r in self.rows]

    def values(self, measure: str) -> np.ndarray:
        """(n, L, H) the per-head ``measure`` at each measured snapshot ("icl": (n, 1, 1),
        the model's in-context-learning score)."""
        rows = self.rows
        if not rows:
            return np.zeros((0, 0, 0), dtype=np.float32)
        if measure == "icl":
            return self.icl()[:, None, None]
        return np.stack([getattr(r, measure).numpy() for r in rows]).astype(np.float32)

    def icl(self) -> np.ndarray:
        return np.array([r.icl for r in self.rows], dtype=np.float32)

    def phase(self) -> Change | None:
        """The run's phase change, from the best prefix-matching head and the ICL score."""
        rows = self.rows
        if len(rows) < 3:
            return None
        best = [r.best("prefix_matching")[2] for r in rows]
        return phase_change(self.steps, best, [r.icl for r in rows])[0]
