"""Interleaved rounds with machine busyness, and ``bench train``'s JSON (never timings)."""

from __future__ import annotations

import argparse
import json
import statistics
import time

import pytest

from explorer.bench import rounds
from explorer.bench import train as bench_train


def test_busyness_reads_proc_stat_and_our_own_cpu_time(monkeypatch, tmp_path):
    stat = tmp_path / "stat"
    stat.write_text("cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 1 2 3\n")
    monkeypatch.setattr(rounds, "PROC_STAT", stat)
    monkeypatch.setattr(rounds.os, "cpu_count", lambda: 2)
    own = iter([0.0, 0.02])
    monkeypatch.setattr(rounds, "_own_cpu_s", lambda: next(own))
    with rounds.Busyness() as busy:
        stat.write_text("cpu  250 0 150 900 0 0 0 0 0 0\n")  # 200 of 300 jiffies busy
        time.sleep(0.1)
    result = busy.result()
    assert result["machine_busy"] == pytest.approx(2 / 3, abs=1e-3)
    assert 0 < result["ours"] <= 1.0
    assert result["others"] == pytest.approx(result["machine_busy"] - result["ours"], abs=1e-3)
    assert result["contended"] == (result["others"] > rounds.CONTENDED)


def test_busyness_without_proc_stat_is_unknown(monkeypatch, tmp_path):
    monkeypatch.setattr(rounds, "PROC_STAT", tmp_path / "missing")
    with rounds.Busyness() as busy:
        pass
    assert busy.result()["machine_busy"] is None and busy.result()["contended"] is None


def test_the_headline_is_the_median_round_not_the_total():
    rows = [{"seconds": {"ours": 1.0, "reference": 1.0}, "others": 0.0, "contended": False,
             "machine_busy": 0.5},
            {"seconds": {"ours": 10.0, "reference": 1.0}, "others": 0.9, "contended": True,
             "machine_busy": 1.0},
            {"seconds": {"ours": 1.0, "reference": 0.9}, "others": 0.0, "contended": False,
             "machine_busy": 0.5}]
    s = rounds.summary(rows, "reference", "ours")
    assert s["median_round_ratio"] == 0.9  # the total-time ratio would be 2.9 / 12 = 0.24
    assert s["median_uncontended_round_ratio"] == pytest.approx(0.95)
    assert [r["contended"] for r in s["rounds"]] == [False, True, False]
    assert s["contended_rounds"] == 1 and s["rounds"][1]["others_busy"] == 0.9


def test_interleaved_alternates_the_order():
    calls = []
    rows = rounds.interleaved({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")},
                              rounds=2, warmup=1)
    assert calls == ["b", "a", "a", "b", "b", "a"]
    assert len(rows) == 2 and set(rows[0]["seconds"]) == {"a", "b"}


def test_bench_train_json_carries_rounds_busyness_and_precision():
    parser = argparse.ArgumentParser()
    bench_train.add_arguments(parser)
    args = parser.parse_args(["--sizes", "small", "--steps", "1", "--rounds", "2",
                              "--batch-size", "2", "--gui-seconds", "0", "--threads", "1"])
    out = bench_train.run(args)
    json.dumps(out)
    (small,) = out["models"]
    assert out["ratio"] == {"small": small["ratio"]} and "median" in out["headline"]
    assert small["precision"] == "fp32"  # the small model never gets bf16 on a CPU
    assert small["reference_precision"] == "fp32"
    assert len(small["rounds"]) == 2
    assert {"ratio", "ours_s", "reference_s", "others_busy", "contended"} <= set(
        small["rounds"][0])
    ratios = [r["ratio"] for r in small["rounds"]]
    assert small["ratio"] == pytest.approx(statistics.median(ratios), abs=2e-3)
    with pytest.raises(ValueError, match="unknown size"):
        bench_train.run(parser.parse_args(["--sizes", "huge", "--gui-seconds", "0"]))
