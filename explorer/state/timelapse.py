"""A time-lapse of a run: what one view shows at each weight snapshot. Qt-free.

```python
run = TimeLapseRun("runs/induction")           # its snapshots and its loss curve
frame = run.frame(run.snapshots[3], "abcabc", layer=1, head=0)
frame.pattern          # (l, l) the head's attention, keys down the rows, queries across
frame.top              # [(token, probability), ...] the output distribution at the end
frame.induction        # how much the head attends to "the token after the last time"
run.loss_at(frame.step)
```
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from explorer.state.attention_data import head_weights
from explorer.state.inputs import encode_text, input_roles
from explorer.tokenize.display import token_label
from explorer.trace import record
from explorer.train.checkpoint import METRICS_FILE
from explorer.train.snapshots import (
    SnapshotFile,
    list_snapshots,
    load_snapshot,
    snapshot_tokenizer,
)

TOP_K = 8


@dataclass
class Frame:
    """One snapshot seen through the time-lapse's views."""

    step: int
    labels: list[str]  # the tokens of the text, as the axes show them
    layer: int
    head: int
    pattern: np.ndarray  # (l, l): keys t_z down the rows, queries t_x across the columns
    top: list[tuple[str, float]]  # the output distribution after the last token
    induction: float | None  # the head's weight on "the token after an earlier copy"
    n_layers: int = 1
    n_heads: int = 1
    loss: float | None = None
    notes: list[str] = field(default_factory=list)


def induction_score(pattern: np.ndarray, ids: list[int]) -> float | None:
    """The mean attention a query t gives to the keys j that follow an earlier copy of
    token t (ids[j - 1] == ids[t], j < t): what an induction head does. None when the text
    repeats no token."""
    scores = []
    for t in range(len(ids)):
        targets = [j for j in range(1, t) if ids[j - 1] == ids[t]]
        if targets:
            scores.append(float(pattern[targets, t].sum()))
    return float(np.mean(scores)) if scores else None


def read_loss_curve(run_dir: str | os.PathLike) -> tuple[list[int], list[float]]:
    """(steps, training losses) from metrics.jsonl; damaged or half-written lines skipped,
    and a step that goes back (a resumed run) drops the rows from that step on."""
    steps: list[int] = []
    losses: list[float] = []
    try:
        text = (Path(run_dir) / METRICS_FILE).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return steps, losses
    for line in text.splitlines():
        try:
            row = json.loads(line)
            step, loss = int(row["step"]), float(row["loss"])
        except (ValueError, KeyError, TypeError):
            continue
        while steps and steps[-1] >= step:
            steps.pop()
            losses.pop()
        if math.isfinite(loss):
            steps.append(step)
            losses.append(loss)
    return steps, losses


class TimeLapseRun:
    """The snapshots of one run folder and its loss curve (``reload()`` reads both anew)."""

    def __init__(self, run_dir: str | os.PathLike) -> None:
        self.run_dir = Path(run_dir)
        self.snapshots: list[SnapshotFile] = []
        self.steps: list[int] = []
        self.losses: list[float] = []
        self._tokenizer: Any = None
        self._metrics_stamp: tuple[int, int] | None = None
        self.reload()

    def reload(self) -> bool:
        """Read the snapshot list and the loss curve again; True when either changed."""
        snapshots = list_snapshots(self.run_dir)
        try:
            st = (self.run_dir / METRICS_FILE).stat()
            stamp = (st.st_size, st.st_mtime_ns)
        except OSError:
            stamp = None
        steps, losses = self.steps, self.losses
        if stamp != self._metrics_stamp:  # the log is parsed again only when it changed
            steps, losses = read_loss_curve(self.run_dir)
            self._metrics_stamp = stamp
        changed = (snapshots, steps, losses) != (self.snapshots, self.steps, self.losses)
        self.snapshots, self.steps, self.losses = snapshots, steps, losses
        return changed

    @property
    def tokenizer(self) -> Any:
        if self._tokenizer is None:
            self._tokenizer = snapshot_tokenizer(self.run_dir)
        return self._tokenizer

    def index_of(self, step: int) -> int:
        """The snapshot taken at ``step``, or the last one before it (0 if none)."""
        best = 0
        for i, snap in enumerate(self.snapshots):
            if snap.step <= step:
                best = i
        return best

    def loss_at(self, step: int) -> float | None:
        """The training loss logged at ``step`` (or the nearest logged step before it)."""
        value = None
        for s, loss in zip(self.steps, self.losses):
            if s > step:
                break
            value = loss
        return value

    def frame(self, snapshot: SnapshotFile, text: str, layer: int = 0, head: int = 0,
              top_k: int = TOP_K) -> Frame:
        """The attention of (layer, head) on ``text`` and the output distribution after it,
        with the weights of ``snapshot``. ValueError with a message if it cannot be shown."""
        model = load_snapshot(snapshot.path)
        cfg = model.cfg
        if cfg.arch == "encoder-decoder":
            raise ValueError("the time-lapse shows decoder-only and encoder-only runs")
        role = input_roles(cfg)[0]
        chunks = encode_text(self.tokenizer, text, role, cfg.l_max).chunks
        if not chunks:
            raise ValueError("type a text first: the time-lapse shows the model on it")
        ids, labels = list(chunks[0].ids), list(chunks[0].labels)
        layer = min(max(0, layer), cfg.n_layers - 1)
        head = min(max(0, head), cfg.n_heads - 1)
        x = torch.tensor([ids])
        with torch.no_grad():
            logits, trace = record(model, x)
        weights, _masked = head_weights(trace, f"blocks.{layer}.attn")
        pattern = np.asarray(weights[head], dtype=np.float32)
        probs = torch.softmax(logits[0, -1].float(), -1)
        values, index = probs.topk(min(top_k, probs.numel()))
        top = [(token_label(self.tokenizer, int(i)), float(v)) for v, i in zip(values, index)]
        notes = [] if len(chunks) == 1 else [f"only the first {len(ids)} tokens (ℓ_max)"]
        return Frame(snapshot.step, labels, layer, head, pattern, top,
                     induction_score(pattern, ids), cfg.n_layers, cfg.n_heads,
                     self.loss_at(snapshot.step), notes)

    def strongest_induction_head(self, text: str,
                                 snapshot: SnapshotFile | None = None) -> tuple[int, int]:
        """(layer, head) with the highest induction score on ``text`` at ``snapshot``
        (default: the last one)."""
        snapshot = snapshot or self.snapshots[-1]
        model = load_snapshot(snapshot.path)
        best, where = -1.0, (0, 0)
        for layer in range(model.cfg.n_layers):
            for head in range(model.cfg.n_heads):
                score = self.frame(snapshot, text, layer, head).induction
                if score is not None and score > best:
                    best, where = score, (layer, head)
        return where
