"""Interleaved rounds that survive a noisy machine: per-round ratios and how busy it was.

A benchmark compares sides (ours, a reference) in rounds, each side once per round in
alternating order, so that a burst of other work hits both. ``Busyness`` reads
``/proc/stat`` (all CPUs) and this process's own CPU time around a block: what the rest
of the machine did meanwhile is the difference. A round during which the others kept
more than ``CONTENDED`` of the machine busy is marked ``contended``. The headline is the
median round ratio, never the ratio of total times (one contended round would sink it).
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

CONTENDED = 0.25  # share of all CPUs busy with other processes during a round
PROC_STAT = Path("/proc/stat")


def _cpu_jiffies() -> tuple[int, int] | None:
    """(busy, total) jiffies over all CPUs since boot, None where /proc/stat is missing."""
    try:
        first = PROC_STAT.read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    if not first or first[0] != "cpu":
        return None
    values = [int(v) for v in first[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # user … steal (guest time is already in user)
    return total - idle, total


def _own_cpu_s() -> float:
    t = os.times()
    return t.user + t.system


class Busyness:
    """``with Busyness() as b: …`` then ``b.result()``: the shares of all CPUs that were
    busy (``machine``), busy with this process (``ours``) and with the rest (``others``)."""

    def __enter__(self) -> Busyness:
        self._jiffies = _cpu_jiffies()
        self._own = _own_cpu_s()
        self._wall = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall_s = time.perf_counter() - self._wall
        self.own_s = _own_cpu_s() - self._own
        end = _cpu_jiffies()
        self.machine = None
        if self._jiffies is not None and end is not None:
            busy, total = end[0] - self._jiffies[0], end[1] - self._jiffies[1]
            self.machine = busy / total if total > 0 else 0.0

    def result(self) -> dict[str, Any]:
        cpus = os.cpu_count() or 1
        ours = min(1.0, self.own_s / max(self.wall_s * cpus, 1e-9))
        if self.machine is None:
            return {"machine_busy": None, "ours": round(ours, 3), "others": None,
                    "contended": None}
        others = max(0.0, self.machine - ours)
        return {"machine_busy": round(self.machine, 3), "ours": round(ours, 3),
                "others": round(others, 3), "contended": others > CONTENDED}


def interleaved(sides: dict[str, Callable[[], Any]], rounds: int, warmup: int = 1,
                sync: Callable[[], None] | None = None) -> list[dict[str, Any]]:
    """Run every side once per round (order alternating), timing each, ``warmup`` rounds
    first untimed. Returns one dict per round: seconds per side and busyness."""
    out = []
    names = list(sides)
    for rnd in range(warmup + rounds):
        order = names if rnd % 2 else names[::-1]
        seconds = {}
        with Busyness() as busy:
            for name in order:
                if sync:
                    sync()
                start = time.perf_counter()
                sides[name]()
                if sync:
                    sync()
                seconds[name] = time.perf_counter() - start
        if rnd >= warmup:
            out.append({"seconds": seconds, **busy.result()})
    return out


def summary(rows: list[dict[str, Any]], numerator: str, denominator: str) -> dict[str, Any]:
    """Each round's ratio seconds[numerator] / seconds[denominator] (> 1 when the
    denominator side was faster), their median (the headline), the median over the
    uncontended rounds, and every round with how busy the rest of the machine was."""
    ratios = [r["seconds"][numerator] / r["seconds"][denominator] for r in rows]
    quiet = [q for q, r in zip(ratios, rows) if not r.get("contended")]
    return {
        "median_round_ratio": round(statistics.median(ratios), 3),
        "median_uncontended_round_ratio": round(statistics.median(quiet), 3) if quiet else None,
        "rounds": [{"ratio": round(q, 3),
                    **{f"{k}_s": round(v, 4) for k, v in r["seconds"].items()},
                    "machine_busy": r["machine_busy"], "others_busy": r["others"],
                    "contended": r["contended"]} for q, r in zip(ratios, rows)],
        "contended_rounds": sum(1 for r in rows if r.get("contended")),
    }


def medians_ms(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per side: the median and the minimum time in milliseconds over the rounds."""
    out = {}
    for name in rows[0]["seconds"]:
        values = [r["seconds"][name] * 1000 for r in rows]
        out[name] = {"median_ms": round(statistics.median(values), 3),
                     "min_ms": round(min(values), 3)}
    return out
