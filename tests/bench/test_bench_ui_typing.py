"""``bench ui``'s typing measurement: its JSON, on a small model (timings never asserted)."""

from __future__ import annotations

import argparse
import json

import pytest

pytest.importorskip("PySide6")

from explorer.bench import ui  # noqa: E402
from explorer.state import default_tokenizer, random_model  # noqa: E402
from explorer.state import recording as session_module  # noqa: E402
from explorer.trace import record_edit  # noqa: E402


def test_typing_json_compares_continued_and_full_recordings(tmp_path):
    parser = argparse.ArgumentParser()
    ui.add_arguments(parser)
    args = parser.parse_args(["--gpt2-edits", "1", "--gpt2-rounds", "2",
                              "--gpt2-lengths", "8,16"])
    loaded = random_model("decoder", tokenizer=default_tokenizer(), l_max=32)
    out = ui.gpt2_typing(args, tmp_path, loaded)
    json.dumps(out)
    assert session_module.record_edit is record_edit  # the full side is undone
    assert out["model"]["d_e"] == loaded.cfg.d_e
    for part in ("window", "recording_only"):
        assert [row["tokens"] for row in out[part]] == [8, 16]
        for row in out[part]:
            assert row["continued_ms"]["n"] == 2 and row["full_ms"]["n"] == 2
            assert {"median", "p95"} <= set(row["continued_ms"]) and row["ratio_p95"] > 0
            assert len(row["rounds"]) == 2 and "others_busy" in row["rounds"][0]
    assert all(row["computed_positions"] == [1] for row in out["window"])
    with pytest.raises(ValueError, match="l_max"):
        ui.gpt2_typing(parser.parse_args(["--gpt2-lengths", "64"]), tmp_path, loaded)
