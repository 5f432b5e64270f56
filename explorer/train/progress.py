"""Text for progress: durations, a one-line bar for terminals, and the metrics log
(``MetricsLog`` writes it, ``read_history`` reads its curves back)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any

from explorer.train.loop import History, StepResult


def format_duration(seconds: float) -> str:
    """'0:07', '12:03', '1:02:03'."""
    s = max(0, int(round(seconds)))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def format_rate(tokens_per_s: float) -> str:
    if tokens_per_s >= 1e6:
        return f"{tokens_per_s / 1e6:.2f}M tok/s"
    if tokens_per_s >= 1e3:
        return f"{tokens_per_s / 1e3:.1f}k tok/s"
    return f"{tokens_per_s:.0f} tok/s"


def progress_line(
    r: StepResult, total: int, last_val: float | None = None, width: int = 24
) -> str:
    """'step 120/1000 |█████░░░| 12% loss 2.314 val 2.401 lr 1.0e-03 45.1k tok/s 0:12<1:30'
    (and ' batch 8×2×1=16' with several ranks or accumulation)."""
    frac = min(1.0, r.step / max(1, total))
    filled = int(round(frac * width))
    bar = "█" * filled + "░" * (width - filled)
    val = r.val_loss if r.val_loss is not None else last_val
    val_text = f" val {val:.4f}" if val is not None else ""
    return (
        f"step {r.step}/{total} |{bar}| {frac:4.0%} loss {r.loss:.4f}{val_text} "
        f"lr {r.lr:.1e} {format_rate(r.tokens_per_s)} "
        f"{format_duration(r.elapsed_s)}<{format_duration(r.eta_s)}{batch_text(r)}"
    )


def batch_text(r: StepResult) -> str:
    """' batch 8×2×1=16' (per rank × ranks × accumulation = global) when a run has
    several ranks or accumulates; '' for a plain run."""
    if (r.ranks or 1) == 1 and (r.grad_accum or 1) == 1:
        return ""
    return f" batch {r.batch_per_rank}×{r.ranks}×{r.grad_accum}={r.global_batch}"


class MetricsLog:
    """``metrics.jsonl``: one JSON object per reported step, appended and flushed."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._file: IO[str] | None = None

    def write(self, r: StepResult) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        self._file.write(json.dumps(r.to_json()) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def read_history(path: str | os.PathLike) -> History:
    """The curves of ``metrics.jsonl`` (``path``: the file or its run folder) as a
    ``History``; damaged lines are skipped, and a step that goes back (a resumed run)
    drops the rows from that step on. ValueError when there is no such file."""
    path = Path(path)
    if path.is_dir():
        path = path / "metrics.jsonl"
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the run's metrics ({exc.strerror})") from None
    rows: list[dict[str, Any]] = []
    for line in lines:
        try:
            row = json.loads(line)
            row["step"], row["loss"] = int(row["step"]), float(row["loss"])
        except (ValueError, KeyError, TypeError):
            continue
        while rows and rows[-1]["step"] >= row["step"]:
            rows.pop()
        rows.append(row)
    h = History()
    for row in rows:
        h.step.append(row["step"])
        h.loss.append(row["loss"])
        h.lr.append(float(row.get("lr", 0.0)))
        h.grad_norm.append(float(row.get("grad_norm", 0.0)))
        if row.get("val_loss") is not None:
            h.val_step.append(row["step"])
            h.val_loss.append(float(row["val_loss"]))
        if row.get("train_accuracy") is not None and row.get("val_accuracy") is not None:
            h.acc_step.append(row["step"])
            h.train_accuracy.append(float(row["train_accuracy"]))
            h.val_accuracy.append(float(row["val_accuracy"]))
    return h
