"""``bench ui``'s typing parts (by length, a burst of edits, a huge paste): their JSON, in
a real window on the bundled model (timings never asserted)."""

from __future__ import annotations

import argparse
import json

import pytest

pytest.importorskip("PySide6")

from explorer.bench import ui, ui_typing  # noqa: E402
from explorer.state.inputs import MAX_TEXT  # noqa: E402


def test_typing_parts_report_per_length_the_longest_gap_and_the_paste(qtbot, open_window,
                                                                      qapp, tmp_path):
    window = open_window()
    parser = argparse.ArgumentParser()
    ui.add_arguments(parser)
    args = parser.parse_args(["--lengths", "20,60", "--length-edits", "2",
                              "--length-rounds", "2", "--burst", "20", "--paste-mb", "0.2"])
    out = ui_typing.run(window, qapp, args, ui._summary, ui._percentile, tmp_path)
    json.dumps(out)
    rows = out["by_length"]["edit_to_update_ms"]
    assert set(rows) == {"20", "60"} and all(r["n"] == 2 for r in rows.values())
    assert out["by_length"]["p95_ratio_longest_to_shortest"] > 0
    assert out["burst"]["edits"] == 20 and out["burst"]["longest_gap_ms"] > 0
    paste = out["paste"]
    assert paste["pasted_chars"] > MAX_TEXT and paste["box_chars"] == MAX_TEXT
    assert "limit" in paste["banner"]
    assert (tmp_path / "after_paste.ini").is_file()  # what the next start reads
    window.close()
