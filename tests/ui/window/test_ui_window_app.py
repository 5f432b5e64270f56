"""The real entry point: starts offscreen, draws the first trace, saves a PNG, exits cleanly."""

from __future__ import annotations

import os
import subprocess
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402


@pytest.mark.parametrize("arch", ["decoder", "encoder-decoder"])
def test_entry_point_screenshot_and_clean_exit(tmp_path, arch):
    png = tmp_path / "window.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen",
               TRANSFORMER_EXPLORER_SETTINGS=str(tmp_path / "settings.ini"))
    proc = subprocess.run(
        [sys.executable, "-m", "explorer", "--arch", arch, "--screenshot", str(png),
         "--quit-after", "60000", "--report-startup"],
        capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    assert png.is_file() and png.stat().st_size > 20_000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for bad in ("QThread: Destroyed", "Traceback", "Fatal Python error", "QObject::"):
        assert bad not in proc.stderr, proc.stderr
    assert '"first_trace_s"' in proc.stdout
    assert (tmp_path / "settings.ini").is_file()  # layout and text remembered


def test_quit_after_closes_the_window(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen",
               TRANSFORMER_EXPLORER_SETTINGS=str(tmp_path / "settings.ini"))
    proc = subprocess.run([sys.executable, "-m", "explorer", "--quit-after", "300"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "QThread: Destroyed" not in proc.stderr


def test_bad_arguments_are_refused(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "explorer", "--arch", "lstm"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "invalid choice" in proc.stderr
