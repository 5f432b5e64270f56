"""Soak: the real window trains for minutes while a user types, steps and switches tabs.

Live training once aborted after ~100 s (PySide6 6.12.0 drained True's refcount, one per
signal emit). This runs the whole lecture in its own process, so an abort is a failed
test, not a crashed test session; the resident-memory growth is reported in the summary.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from explorer.train import read_checkpoint_state

SOAK = Path(__file__).with_name("soak_window.py")


@pytest.mark.slow
def test_the_window_trains_for_minutes_while_the_user_works(tmp_path, soak_report) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_DATA_HOME=str(tmp_path / "data"),
               TRANSFORMER_EXPLORER_SETTINGS=str(tmp_path / "settings.ini"),
               SOAK_SECONDS=os.environ.get("SOAK_SECONDS", "150"))
    proc = subprocess.run([sys.executable, str(SOAK)], env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stderr[-3000:]}"
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    soak_report(f"soak: {report['seconds']:.0f} s of live training in the window, "
                f"{report['steps']} steps, {report['user_actions']} user actions "
                f"({report.get('compare_actions', 0)} comparing with a text B, "
                f"{report.get('intervention_actions', 0)} ablating a head or removing it); RSS "
                f"{report['rss_start_mb']} -> {report['rss_end_mb']} MB after warm-up "
                f"(peak {report['rss_peak_mb']} MB), {report['live_models']} models alive "
                f"({report.get('side_by_side_models', 0)} of them the Side by side tab's)")
    assert report["training_before_close"] and report["closed"]
    assert report["steps"] > 50
    if report["seconds"] >= 20:  # the user compared with a text B for part of the time
        assert report.get("compare_actions", 0) > 0
        assert report.get("intervention_actions", 0) > 0
    run_dir = Path(report["run_dir"])
    state = read_checkpoint_state(run_dir)  # checksums verified
    assert state["step"] >= report["steps"]  # closing saved the run where it stood
    # Flat memory (issue 26): the snapshots the views were shown are freed (the kept module
    # walks once held every one), and the RSS grows by at most 8% in the 2 minutes after
    # warm-up (seen: +3.4 to +4.2% in CI runs; the 10-minute target of <= 5% from minute 1
    # to 10 is measured outside CI: +4.9%). The model count is what fails on a leak.
    # The Side by side tab, once shown, holds the bundled decoder, encoder and encoder-decoder
    # of its columns: models it keeps on purpose, counted apart.
    kept = report.get("side_by_side_models", 0)
    assert report["live_models"] <= 4 + kept, (report["live_models"], kept)
    if report["rss_start_mb"]:  # SOAK_SECONDS beyond the warm-up
        assert report["rss_end_mb"] <= 1.08 * report["rss_start_mb"], report
