"""``bench forward --quick``: the structure of its JSON (timings are never asserted)."""

from __future__ import annotations

import argparse
import json

from explorer.bench import forward
from explorer.cli import main
from explorer.core import ModelConfig, build_model
from explorer.io import save_model

RUN_KEYS = {"l", "forward_ms", "record_ms", "record_over_forward", "trace_steps", "trace_mb",
            "lean_record_ms", "lean_trace_stored_steps", "lean_trace_mb", "max_rss_mb",
            "rss_growth_mb"}


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    forward.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_quick_run_structure_with_a_model_folder(tmp_path):
    cfg = ModelConfig(arch="encoder-decoder", vocab_size=40, l_max=16, d_e=16, n_heads=2,
                      n_layers=1)
    save_model(build_model(cfg), tmp_path)
    out = forward.run(_args("--quick", "--model", str(tmp_path), "--threads", "1"))
    json.dumps(out)  # JSON-serialisable as the dispatcher prints it
    assert out["benchmark"] == "forward" and out["repeats"] == 2 and "RSS" in out["memory"]
    (small,) = out["results"]
    assert small["name"] == "small" and small["parameters"] > 0
    assert [run["l"] for run in small["runs"]] == [16]
    assert set(small["runs"][0]) >= RUN_KEYS
    run = small["runs"][0]
    assert run["forward_ms"] > 0 and run["lean_trace_stored_steps"] < run["trace_steps"]
    assert run["lean_trace_mb"] <= run["trace_mb"]
    assert run["lean_trace_mb"] <= run["trace_mb"]
    assert {"forward_min_ms", "record_min_ms", "lean_record_min_ms", "contended_rounds"} <= set(run)
    assert run["forward_min_ms"] <= run["forward_ms"]
    assert len(run["rounds"]) == 2  # the sides interleaved in rounds, each with busyness
    assert {"forward_ms", "record_ms", "lean_record_ms", "others_busy", "contended"} <= set(
        run["rounds"][0])
    assert "interleaved" in out["timing"]
    model = out["model"]
    assert model["load_s"] >= 0 and model["algorithm"] == "EDTransformer"
    assert [r["l"] for r in model["runs"]] == [16] and "skipped_lengths" not in model


def test_dispatcher_prints_json(capsys):
    assert main(["bench", "forward", "--quick", "--threads", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["results"][0]["runs"][0]["trace_steps"] > 30
