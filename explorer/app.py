"""``transformer-explorer`` with no subcommand: the window.

Paint first, then load torch and the model on a worker thread with visible progress.
Options for tests and benchmarks: ``--quit-after MS``, ``--screenshot PATH`` (saved once
the first trace is drawn, then the app quits) and ``--report-startup`` (prints JSON timings
from ``TRANSFORMER_EXPLORER_T0``, the caller's clock before it started the process, and
``torch_before_first_paint``: the window paints before torch is imported).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

_T_IMPORT = time.time()
ARCHS = ("decoder", "encoder", "encoder-decoder")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="transformer-explorer",
        description="Open the Transformer Explorer window.")
    parser.add_argument("--model", metavar="DIR", help="open this saved model folder")
    parser.add_argument("--follow", metavar="DIR",
                        help="follow the training run in DIR live, read-only (a run another "
                        "process writes: transformer-explorer train, torchrun)")
    parser.add_argument("--arch", choices=ARCHS,
                        help="architecture of the default model (default: the last one used)")
    parser.add_argument("--text", help="the text to start with (default: the last one typed)")
    parser.add_argument("--quit-after", type=int, metavar="MS",
                        help="close the window after MS milliseconds (tests, benchmarks)")
    parser.add_argument("--screenshot", metavar="PATH",
                        help="save a PNG of the window once the first trace is drawn, then quit")
    parser.add_argument("--report-startup", action="store_true",
                        help="print the startup timings as JSON when the window closes")
    return parser


def run_app(argv: list[str]) -> int:
    """Create the application and the window, run the event loop, shut down cleanly."""
    args = build_parser().parse_args(argv)
    t0 = float(os.environ.get("TRANSFORMER_EXPLORER_T0", _T_IMPORT))
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    # importing explorer.ui makes None, True and False immortal (PySide6 6.12.0's leak)
    from explorer.ui.widgets.pyside_fix import collect_garbage_on_gui_thread

    app = QApplication.instance() or QApplication(sys.argv[:1])
    collect_garbage_on_gui_thread(app)
    app.setOrganizationName("TransformerExplorer")
    app.setApplicationName("transformer-explorer")
    app.setApplicationDisplayName("Transformer Explorer")
    app.setDesktopFileName("transformer-explorer")
    from explorer.ui.widgets import theme
    from explorer.ui.widgets.icon import app_icon
    from explorer.ui.window.main_window import MainWindow

    app.setWindowIcon(app_icon())
    screen = app.primaryScreen()
    big = screen is not None and screen.availableGeometry().height() >= 1000
    theme.apply_theme(app, theme.BASE_POINT_SIZE + (2 if big else 0))
    times: dict[str, float] = {}
    flags: dict[str, bool] = {}
    window = MainWindow(model_dir=args.model, arch=args.arch, text=args.text,
                        follow=args.follow)
    started = []

    def start_loading() -> None:
        if not started:
            started.append(True)
            times["first_paint_s"] = time.time() - t0
            flags["torch_before_first_paint"] = "torch" in sys.modules
            window.start()

    window.first_painted.connect(start_loading)
    window.session_ready.connect(lambda: times.setdefault("model_ready_s", time.time() - t0))

    def on_views() -> None:
        if "first_trace_s" in times:
            return
        times["first_trace_s"] = time.time() - t0
        if args.screenshot:
            window.grab().save(args.screenshot)
            QTimer.singleShot(0, window.close)

    window.views_updated.connect(on_views)
    window.show()
    QTimer.singleShot(1000, start_loading)  # if no paint event arrives (hidden platform)
    if args.quit_after is not None:
        QTimer.singleShot(args.quit_after, window.close)
    code = app.exec()
    window.shutdown()
    window.deleteLater()
    app.processEvents()
    if args.report_startup:
        print(json.dumps({**{k: round(v, 4) for k, v in times.items()}, **flags}), flush=True)
    return int(code)
