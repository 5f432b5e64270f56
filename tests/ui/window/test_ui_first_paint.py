"""The window paints before torch is imported (issue 26: first paint within 0.5 s)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def test_the_first_paint_imports_no_torch(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen",
               TRANSFORMER_EXPLORER_SETTINGS=str(tmp_path / "settings.ini"))
    proc = subprocess.run(
        [sys.executable, "-m", "explorer", "--screenshot", str(tmp_path / "w.png"),
         "--quit-after", "60000", "--report-startup"],
        capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    report = json.loads([ln for ln in proc.stdout.splitlines() if ln.startswith("{")][-1])
    assert "first_paint_s" in report and "first_trace_s" in report  # it painted, then loaded
    assert report["torch_before_first_paint"] is False
