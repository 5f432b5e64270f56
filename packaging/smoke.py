"""Smoke check of the desktop bundle: build it, start it headless, render the window to PNG.

Usage (from the repository root; takes a few minutes, not part of the test suite)::

    python packaging/smoke.py                    # build into dist/, then check
    python packaging/smoke.py --no-build         # check an existing dist/transformer-explorer/
    python packaging/smoke.py --png /tmp/te.png  # where the screenshot goes

Checks, each printed as it passes:

1. ``transformer-explorer --help`` runs from the bundle and exits 0.
2. The launcher's self-check (``TRANSFORMER_EXPLORER_SELF_CHECK=1``, see launcher.py) finds the
   icons, models and data of ``explorer.resources`` through ``importlib.resources``, loads the
   icon, trains a small decoder one step and draws its attention pattern with pyqtgraph to
   ``<png>-pattern.png``, all inside the frozen app.
3. The window starts on the offscreen platform (``QT_QPA_PLATFORM=offscreen``), with a
   working directory outside the repository and ``PYTHONPATH``/``PYTHONHOME`` removed, so
   nothing can come from the source tree or a Python installation.
4. The window is started with ``--screenshot PATH --quit-after MS``: it must write a PNG and
   exit 0. If the app rejects those options (argparse's "unrecognized arguments", exit 2), the
   smoke check instead lets the window run for a few seconds, checks the process is still
   alive and printed no traceback, then ends it with SIGTERM (CTRL_BREAK on Windows).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from build import REPO, build, executable, folder_size  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def clean_env() -> dict[str, str]:
    """The environment of a user who has no Python: no PYTHON* variables, offscreen Qt."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def check_help(launcher: Path, cwd: Path) -> None:
    result = subprocess.run(
        [str(launcher), "--help"],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise SystemExit(f"--help failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    print("ok: --help exits 0")


def check_self(launcher: Path, cwd: Path, png: Path) -> None:
    env = clean_env()
    env["TRANSFORMER_EXPLORER_SELF_CHECK"] = "1"
    env["TRANSFORMER_EXPLORER_SELF_CHECK_PNG"] = str(png)
    result = subprocess.run(
        [str(launcher)], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    if result.returncode != 0:
        raise SystemExit(
            f"self-check failed ({result.returncode}):\n{result.stdout}{result.stderr}"
        )
    report = json.loads(result.stdout)
    if not report["frozen"] or "icons/transformer-explorer-16.png" not in report["files"]:
        raise SystemExit(f"the bundle does not see its resources:\n{result.stdout}")
    if not report["pattern_png"] or png.read_bytes()[:8] != PNG_SIGNATURE:
        raise SystemExit(f"the bundle could not draw with pyqtgraph:\n{result.stdout}")
    kinds = sorted({name.split("/")[0] for name in report["files"] if "/" in name})
    print(
        f"ok: frozen app finds {len(report['files'])} resource files ({', '.join(kinds)}) "
        f"at {report['resources']}; icon loads; one training step, loss {report['loss']:.3f}; "
        f"pyqtgraph drew the attention pattern to {png}"
    )


def check_screenshot(launcher: Path, cwd: Path, png: Path, quit_after_ms: int) -> bool:
    """Render the default view to ``png``; False if the app has no --screenshot option."""
    png.unlink(missing_ok=True)
    command = [str(launcher), "--screenshot", str(png), "--quit-after", str(quit_after_ms)]
    result = subprocess.run(
        command, cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=300
    )
    output = result.stdout + result.stderr
    if result.returncode == 2 and "unrecognized arguments" in output:
        return False
    if result.returncode != 0 or "Traceback" in output:
        raise SystemExit(f"the window failed ({result.returncode}):\n{output}")
    if not png.is_file() or png.read_bytes()[:8] != PNG_SIGNATURE:
        raise SystemExit(f"the window exited 0 but wrote no PNG at {png}:\n{output}")
    print(f"ok: the window rendered {png} ({png.stat().st_size} bytes) and exited 0")
    return True


def check_window_stays_up(launcher: Path, cwd: Path, seconds: float) -> None:
    flags = subprocess.CREATE_NEW_PROCESS_GROUP if sys.platform == "win32" else 0
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(
            [str(launcher)],
            cwd=cwd,
            env=clean_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            creationflags=flags,
        )
        time.sleep(seconds)
        alive = process.poll() is None
        if alive:
            process.send_signal(
                signal.CTRL_BREAK_EVENT if sys.platform == "win32" else signal.SIGTERM
            )
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.seek(0)
        output = log.read()
    if not alive:
        raise SystemExit(f"the window exited early ({process.returncode}):\n{output}")
    if "Traceback" in output:
        raise SystemExit(f"the window printed a traceback:\n{output}")
    print(f"ok: the window ran {seconds:.0f} s without a traceback (no --screenshot support)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-build", action="store_true", help="check an existing bundle")
    parser.add_argument("--dist", type=Path, default=REPO / "dist")
    parser.add_argument("--work", type=Path, default=REPO / "build" / "pyinstaller")
    parser.add_argument("--png", type=Path, default=None, help="screenshot path")
    parser.add_argument("--seconds", type=float, default=8.0, help="how long the window runs")
    args = parser.parse_args(argv)

    if args.no_build:
        launcher = executable(args.dist)
    else:
        start = time.perf_counter()
        launcher = build(args.dist, args.work)
        print(f"build time: {time.perf_counter() - start:.0f} s")
    if not launcher.is_file():
        raise SystemExit(f"no bundle at {launcher}: build it first (python packaging/build.py)")
    print(f"bundle size: {folder_size(launcher.parent) / 1e6:.0f} MB ({launcher.parent})")

    with tempfile.TemporaryDirectory(prefix="te-smoke-") as tmp:
        cwd = Path(tmp)  # nothing relative to the repository can be found from here
        check_help(launcher, cwd)
        png = (args.png or cwd / "window.png").resolve()
        check_self(launcher, cwd, png.with_name(png.stem + "-pattern.png"))
        if not check_screenshot(launcher, cwd, png, int(args.seconds * 1000)):
            check_window_stays_up(launcher, cwd, args.seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
