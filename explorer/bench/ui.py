"""``transformer-explorer bench ui``: how fast the window answers, offscreen, default model.

- ``first_paint_s``: from just before starting a fresh Python process running the app to
  the window's first paint (and ``model_ready_s``, ``first_trace_s`` in the same process);
  the median of ``--starts`` runs.
- ``edit_to_update_ms``: a keystroke in the text box to every view (step heatmap,
  attention, output, tokens, step list) updated and the window's pending paints flushed,
  median and 95th percentile over ``--edits`` edits.
- ``step_change_ms``: a Right key press to the new step painted, over ``--steps`` presses.

Numbers are printed by the dispatcher, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--edits", type=int, default=100, help="keystrokes to time (100)")
    parser.add_argument("--steps", type=int, default=100, help="step changes to time (100)")
    parser.add_argument("--starts", type=int, default=3,
                        help="fresh processes for the startup timings (3)")
    parser.add_argument("--arch", default="decoder",
                        choices=("decoder", "encoder", "encoder-decoder"))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def _summary(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 2),
            "p95": round(_percentile(values, 95), 2),
            "max": round(max(values), 2), "n": len(values)}


def _startup(arch: str, runs: int, folder: Path) -> dict:
    """Start the real app in fresh processes; each reports its timings as JSON."""
    results = []
    for i in range(runs):
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen",
                   TRANSFORMER_EXPLORER_SETTINGS=str(folder / f"start{i}.ini"))
        png = folder / f"start{i}.png"
        env["TRANSFORMER_EXPLORER_T0"] = repr(time.time())
        proc = subprocess.run(
            [sys.executable, "-m", "explorer", "--arch", arch, "--screenshot", str(png),
             "--report-startup"], capture_output=True, text=True, timeout=300, env=env)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        if proc.returncode != 0 or not lines:
            return {"error": f"the app exited with {proc.returncode}: {proc.stderr[-500:]}"}
        results.append(json.loads(lines[-1]))
    keys = results[0].keys()
    return {k: round(statistics.median(r[k] for r in results), 3) for k in keys}


def _interactive(args: argparse.Namespace, folder: Path) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["TRANSFORMER_EXPLORER_SETTINGS"] = str(folder / "bench.ini")
    from PySide6.QtCore import QEventLoop, Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from explorer.ui.widgets import theme
    from explorer.ui.widgets.pyside_fix import keep_constants_alive
    from explorer.ui.window.main_window import MainWindow

    keep_constants_alive()
    app = QApplication.instance() or QApplication([])
    theme.apply_theme(app)
    built = time.perf_counter()
    window = MainWindow(arch=args.arch, text="the wise girl follows the sad witch .")
    window.show()

    def wait_for(signal, timeout_ms: int = 60_000) -> None:
        loop = QEventLoop()
        signal.connect(loop.quit)
        QTimer.singleShot(timeout_ms, loop.quit)
        loop.exec()
        signal.disconnect(loop.quit)

    if not window._painted:
        wait_for(window.first_painted)
    construct_to_paint = window.first_paint_time - built
    window.start()
    wait_for(window.session_ready)
    if window.session.trace is None:
        wait_for(window.views_updated)
    window.session.select_name(
        "decoder.blocks.0.attn.pattern" if args.arch == "encoder-decoder"
        else "blocks.0.attn.pattern")
    app.processEvents()

    box = window.inputs.text
    box.setFocus()
    box.moveCursor(box.textCursor().MoveOperation.End)
    edit_ms = []
    for i in range(args.edits):
        key = Qt.Key.Key_Backspace if i % 2 else Qt.Key.Key_A
        expected = window.session.generation
        start = time.perf_counter()
        loop = QEventLoop()

        def updated(expected=expected, loop=loop) -> bool:
            s = window.session
            done = (s.generation != expected and s.trace_inputs[0] == s.x_labels
                    and window._runner.idle() and not window._debounce.isActive())
            if done:
                loop.quit()
            return done

        # Sleep in an event loop until the views say they are updated: polling here
        # would take the CPU the forward pass needs on a 2-core machine.
        window.views_updated.connect(updated)
        QTest.keyClick(box, key)
        if not updated():
            QTimer.singleShot(10_000, loop.quit)
            loop.exec()
        window.views_updated.disconnect(updated)
        app.processEvents()  # the paints the updates asked for
        edit_ms.append((time.perf_counter() - start) * 1000)

    window.focus_steps()
    window.session.first_step()
    app.processEvents()
    step_ms = []
    n_steps = len(window.session.steps)
    for i in range(args.steps):
        key = Qt.Key.Key_Right if (i // (n_steps - 1)) % 2 == 0 else Qt.Key.Key_Left
        start = time.perf_counter()
        QTest.keyClick(window.heatmap.plot, key)
        app.processEvents()
        step_ms.append((time.perf_counter() - start) * 1000)
    result = {
        "construct_to_first_paint_s": round(construct_to_paint, 3),
        "edit_to_update_ms": _summary(edit_ms),
        "step_change_ms": _summary(step_ms),
        "trace_steps": n_steps,
    }
    window.close()
    window.deleteLater()
    app.processEvents()
    return result


def run(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as tmp:
        folder = Path(tmp)
        startup = _startup(args.arch, args.starts, folder)
        interactive = _interactive(args, folder)
    return {"arch": args.arch, "cpu_count": os.cpu_count(),
            "load_average_1min": round(os.getloadavg()[0], 2),
            "process_start": startup, **interactive,
            "targets": {"first_paint_s": 1.5, "edit_to_update_p95_ms": 100,
                        "step_change_ms": 30}}
