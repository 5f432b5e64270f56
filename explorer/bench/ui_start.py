"""``bench ui``'s start-up timings: the real app started in fresh processes, offscreen."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def startup(arch: str, runs: int, folder: Path, settings: Path | None = None) -> dict:
    """Start the real app in fresh processes; each reports its timings as JSON.
    ``settings``: a settings file each start begins from (else none)."""
    results = []
    for i in range(runs):
        ini = folder / f"start{i}.ini"
        ini.unlink(missing_ok=True)
        if settings is not None:
            shutil.copyfile(settings, ini)
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen",
                   TRANSFORMER_EXPLORER_SETTINGS=str(ini))
        png = folder / f"start{i}.png"
        env["TRANSFORMER_EXPLORER_T0"] = repr(time.time())
        proc = subprocess.run(
            [sys.executable, "-m", "explorer", "--arch", arch, "--screenshot", str(png),
             "--report-startup"], capture_output=True, text=True, timeout=300, env=env)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        if proc.returncode != 0 or not lines:
            return {"error": f"the app exited with {proc.returncode}: {proc.stderr[-500:]}"}
        results.append(json.loads(lines[-1]))
    keys = [k for k, v in results[0].items() if not isinstance(v, bool)]
    out = {k: round(statistics.median(r[k] for r in results), 3) for k in keys}
    flags = [r.get("torch_before_first_paint") for r in results]  # None: not reported
    out["torch_before_first_paint"] = None if None in flags else any(flags)
    return out
