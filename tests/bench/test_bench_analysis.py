"""``bench analysis --quick``: the structure of its JSON (timings are never asserted)."""

from __future__ import annotations

import argparse
import json
import statistics

import pytest

from explorer.bench import analysis

OPS = ("record", "lens", "lens_bf16", "lens_from_ids", "dla", "loss")


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    analysis.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_quick_run_structure():
    out = analysis.run(_args("--quick", "--threads", "1"))
    json.dumps(out)
    assert out["benchmark"] == "analysis" and out["rounds"] == 2
    assert out["lens_target_over_forward"] == 1.5
    assert set(out["machine_before"]) == {"load_average_1min", "cpus", "busy_fraction"}
    (small,) = out["results"]
    (run,) = small["runs"]
    assert run["l"] == 16 and run["forward_ms"] > 0 and run["lens_points"] == 5
    for op in OPS:
        assert run[f"{op}_ms"] > 0 and len(run[f"{op}_round_ratios"]) == 2
        assert run[f"{op}_over_forward"] == pytest.approx(
            statistics.median(run[f"{op}_round_ratios"]), abs=2e-3)
    assert isinstance(run["lens_meets_target"], bool)
    assert run["lens_unembed_flops_over_forward_flops"] > 0
    patching = out["patching"]
    assert patching["model"] == "small-random" and patching["l"] == 16
    assert patching["patched_runs"] == 2 * 16  # layers × positions
    assert patching["max_abs_difference"] < 1e-3  # batched == one at a time (float32, normalised)
    ratio = patching["one_at_a_time_over_batched"]
    assert len(ratio["rounds"]) == 2 and ratio["median_round_ratio"] == pytest.approx(
        statistics.median(r["ratio"] for r in ratio["rounds"]), abs=2e-3)
    assert patching["batched_ms"]["median_ms"] > 0
    assert isinstance(patching["meets_ratio_target"], bool)


def test_what_picks_the_analyses_or_the_patching():
    only = analysis.run(_args("--quick", "--what", "patching"))
    assert only["results"] == [] and only["patching"]["patched_runs"] == 32
    assert only["circuit"] is None


def test_circuit_part_times_each_side_and_its_ratios():
    out = analysis.run(_args("--quick", "--what", "circuit"))
    assert out["results"] == [] and out["patching"] is None
    (small,) = out["circuit"]
    assert small["name"] == "small-random" and small["l"] == 16
    assert small["curve_sizes"][0] == 0 and small["curve_sizes"][-1] == small["edges"]
    assert set(small["times"]) == {"forward_backward", "ten_forwards", "attribute",
                                   "eap_ig", "faithfulness", "exact"}
    for name, ratio in small["ratios"].items():
        assert ratio["median_round_ratio"] > 0, name
    assert set(small["meets_targets"]) == set(small["targets"])
    json.dumps(out)


def test_bad_lengths_are_refused():
    with pytest.raises(ValueError, match="at least 2 tokens"):
        analysis.run(_args("--lengths", "1"))


def test_unknown_models_are_refused():
    with pytest.raises(ValueError, match="--models takes"):
        analysis.run(_args("--models", "gpt5"))
