"""``transformer-explorer bench ui``: how fast the window answers, offscreen, default model.

- ``first_paint_s``: from just before starting a fresh Python process running the app to
  the window's first paint (and ``model_ready_s``, ``first_trace_s`` in the same process);
  the median of ``--starts`` runs.
- ``edit_to_update_ms``: a keystroke in the text box to every view (step heatmap,
  attention, output, tokens, step list) updated and the window's pending paints flushed,
  median and 95th percentile over ``--edits`` edits.
- ``--tab TITLE`` (e.g. Lens): that tab stays open while typing, and ``edit_to_tab_ms``
  times each keystroke until the tab has also finished its own work (``Panel.busy``).
- ``step_change_ms``: a Right key press to the new step painted, over ``--steps`` presses.
- ``typing``: keystrokes at 100 to 5,000 characters of text (``--lengths``), a burst of
  2,000 edits from a 0 ms timer and a 10 MB paste, with the longest GUI stall
  (``explorer.bench.ui_typing``).
- ``gpt2_typing``: a GPT-2-small-sized random decoder (12 layers, 12 heads, d_e 768,
  N_V 50257) in the window, its text ``--gpt2-lengths`` tokens long (64 and 256): one
  character typed at the end to every view updated, with the trace continued from the
  first new token (``explorer.trace.record_edit``, what the window does) and with a full
  recording, the two alternating in interleaved rounds; median and p95 of each, their
  ratio, the recording alone (the session layer, no window) the same way, and how busy
  the rest of the machine was in each round (``explorer.bench.rounds``).

Numbers are printed by the dispatcher, never asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from explorer.bench import ui_typing
from explorer.bench.ui_start import startup


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--edits", type=int, default=100, help="keystrokes to time (100)")
    parser.add_argument("--steps", type=int, default=100, help="step changes to time (100)")
    parser.add_argument("--starts", type=int, default=3,
                        help="fresh processes for the startup timings (3)")
    parser.add_argument("--arch", default="decoder",
                        choices=("decoder", "encoder", "encoder-decoder"))
    parser.add_argument("--tab", default=None, metavar="TITLE",
                        help="keep this tab open while typing (e.g. Lens); also times each "
                        "keystroke until that tab has finished its work (edit_to_tab_ms)")
    add_typing_arguments(parser)
    ui_typing.add_arguments(parser)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def _summary(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 2),
            "p95": round(_percentile(values, 95), 2),
            "max": round(max(values), 2), "n": len(values)}


def _interactive(args: argparse.Namespace, folder: Path) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["TRANSFORMER_EXPLORER_SETTINGS"] = str(folder / "bench.ini")
    from PySide6.QtCore import QEventLoop, Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from explorer.ui.widgets import theme
    from explorer.ui.window.main_window import MainWindow

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

    if not window.painted():
        wait_for(window.first_painted)
    construct_to_paint = window.first_paint_time - built
    window.start()
    wait_for(window.session_ready)
    if window.session.trace is None:
        wait_for(window.views_updated)
    window.session.select_name(
        "decoder.blocks.0.attn.pattern" if args.arch == "encoder-decoder"
        else "blocks.0.attn.pattern")
    tab = None
    if getattr(args, "tab", None):
        tab = window.panel(args.tab)  # KeyError names a tab that does not exist
        window.tabs.setCurrentWidget(tab.widget)
    app.processEvents()

    def tab_idle() -> None:
        """Sleep in the event loop until the open tab has finished its work."""
        while tab is not None and tab.busy():
            loop = QEventLoop()
            QTimer.singleShot(2, loop.quit)
            loop.exec()

    box = window.inputs.text
    box.setFocus()
    box.moveCursor(box.textCursor().MoveOperation.End)
    edit_ms, tab_ms = [], []
    tab_idle()
    for i in range(args.edits):
        key = Qt.Key.Key_Backspace if i % 2 else Qt.Key.Key_A
        expected = window.session.generation
        start = time.perf_counter()
        loop = QEventLoop()

        def updated(expected=expected, loop=loop) -> bool:
            s = window.session
            done = (s.generation != expected and s.trace_inputs[0] == s.x_labels
                    and window.tracing.runner.idle() and not window.tracing.edit_pending())
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
        if tab is not None:
            tab_idle()
            app.processEvents()  # the tab's paints
            tab_ms.append((time.perf_counter() - start) * 1000)

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
    if tab is not None:
        result["open_tab"] = args.tab
        result["edit_to_tab_ms"] = _summary(tab_ms)
    result["typing"] = ui_typing.run(window, app, args, _summary, _percentile, folder)
    window.close()
    window.deleteLater()
    app.processEvents()
    return result


def add_typing_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gpt2-edits", type=int, default=20,
                        help="keystrokes per round, side and length on the GPT-2-sized "
                        "model (20; 0 skips it)")
    parser.add_argument("--gpt2-rounds", type=int, default=3, help="interleaved rounds (3)")
    parser.add_argument("--gpt2-lengths", default="64,256",
                        help="text lengths in tokens (64,256)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads for the typing measurement (default: "
                        "torch's choice)")


def _gpt2_sized(tokenizer):
    """A random GPT-2-small-sized decoder, as ``bench forward`` builds it."""
    import torch

    from explorer.bench.forward import GPT2_SMALL
    from explorer.core import build_model
    from explorer.state import LoadedModel

    torch.manual_seed(0)
    model = build_model(GPT2_SMALL).eval()
    return LoadedModel(model, tokenizer, "GPT-2-small-sized, random weights", "random")


def _full_recording(on: bool):
    """Make the session record every keystroke in full (``on``) or continue its trace."""
    from explorer.state import recording as session_module
    from explorer.trace import record, record_edit

    def full(model, *inputs, previous=None, lean=False, joined=True):
        return record(model, *inputs, lean=lean)

    session_module.record_edit = full if on else record_edit


def _bare_forward(model, trace):
    """A callable that runs the positions ``trace`` computed as a bare forward pass: no
    hook attached, nothing recorded, the earlier positions' keys and values given as a
    plain KV cache (``Prefix``). The floor a continued recording is measured against."""
    import torch

    from explorer.core.models import Prefix

    p, x = trace.first_new, trace["embed.ids"]
    keys = tuple(trace.positions(f"blocks.{i}.attn.k", 0, p).contiguous()
                 for i in range(model.cfg.n_layers))
    values = tuple(trace.positions(f"blocks.{i}.attn.v", 0, p).contiguous()
                   for i in range(model.cfg.n_layers))
    prefix = Prefix(p, keys, values) if p else None

    def run() -> float:
        start = time.perf_counter()
        with torch.no_grad():
            model(x[:, p:], prefix=prefix)
        return (time.perf_counter() - start) * 1000

    return run


def _bare_summary(times: dict[str, list[float]], side: str) -> dict:
    """The bare forward's times and the side's p95 over the bare forward's p95."""
    return {"bare_forward_ms": _summary(times["bare"]),
            f"{side}_over_bare_p95": round(_percentile(times[side], 95)
                                           / _percentile(times["bare"], 95), 2)}


def _record_only(loaded, lengths: list[int], edits: int, rounds: int) -> list[dict]:
    """The session layer alone: one character typed at the end, continued vs full."""
    from explorer.bench.rounds import interleaved
    from explorer.state import Session

    out = []
    for length in lengths:
        session = Session(loaded, text=ui_typing.typing_text(length - 1))  # + the start token
        session.record_now()
        times: dict[str, list[float]] = {"continued": [], "full": [], "bare": []}
        session.set_text(session.text + "s")
        session.record_now()
        bare = _bare_forward(loaded.model, session.trace)
        session.set_text(session.text[:-1])
        session.record_now()

        def side(name: str, session=session, times=times, bare=bare) -> None:
            if name == "bare":
                times[name].extend(bare() for _ in range(edits))
                return
            _full_recording(name == "full")
            try:
                for _ in range(edits):
                    base = session.text
                    session.set_text(base + "s")
                    start = time.perf_counter()
                    session.record_now()
                    times[name].append((time.perf_counter() - start) * 1000)
                    session.set_text(base)
                    session.record_now()
            finally:
                _full_recording(False)

        rows = interleaved({"continued": lambda: side("continued"),
                            "full": lambda: side("full"), "bare": lambda: side("bare")},
                           rounds, warmup=0)
        out.append({"tokens": len(session.x_labels),
                    "continued_ms": _summary(times["continued"]),
                    **_bare_summary(times, "continued"),
                    "full_ms": _summary(times["full"]),
                    "ratio_p95": round(_percentile(times["full"], 95)
                                       / _percentile(times["continued"], 95), 2),
                    "rounds": [{"others_busy": r["others"], "contended": r["contended"]}
                               for r in rows]})
    return out


def _window_typing(loaded, lengths: list[int], edits: int, rounds: int,
                   folder: Path) -> list[dict]:
    """The window: one character typed at the end to every view updated."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["TRANSFORMER_EXPLORER_SETTINGS"] = str(folder / "typing.ini")
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from explorer.bench.rounds import interleaved
    from explorer.ui.widgets import theme
    from explorer.ui.window.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    theme.apply_theme(app)
    window = MainWindow(arch="decoder", text=ui_typing.typing_text(lengths[0] - 1))
    window.show()

    typist = ui_typing.Typist(window, app)
    window.start()
    typist.wait_settled()
    window.show_loaded_model(loaded)

    def key(k) -> float:
        return typist.key(k, timeout_ms=120_000)

    out = []
    for length in lengths:
        window.inputs.text.setPlainText(ui_typing.typing_text(length - 1))
        typist.wait_settled()
        window.session.select_name("blocks.0.attn.pattern")
        app.processEvents()
        box = window.inputs.text
        box.setFocus()
        box.moveCursor(box.textCursor().MoveOperation.End)
        times: dict[str, list[float]] = {"continued": [], "full": [], "bare": []}
        first_new: list[int] = []
        key(Qt.Key.Key_S)
        bare = _bare_forward(loaded.model, window.session.trace)
        key(Qt.Key.Key_Backspace)

        def side(name: str, times=times, first_new=first_new, bare=bare) -> None:
            if name == "bare":
                times[name].extend(bare() for _ in range(edits))
                return
            _full_recording(name == "full")
            try:
                for _ in range(edits):
                    times[name].append(key(Qt.Key.Key_S))
                    if name == "continued":
                        first_new.append(window.session.trace.first_new)
                    key(Qt.Key.Key_Backspace)
            finally:
                _full_recording(False)

        rows = interleaved({"continued": lambda: side("continued"),
                            "full": lambda: side("full"), "bare": lambda: side("bare")},
                           rounds, warmup=0)
        tokens = len(window.session.x_labels)  # before each keystroke
        out.append({"tokens": tokens,
                    "continued_ms": _summary(times["continued"]),
                    **_bare_summary(times, "continued"),
                    "full_ms": _summary(times["full"]),
                    "ratio_p95": round(_percentile(times["full"], 95)
                                       / _percentile(times["continued"], 95), 2),
                    "computed_positions": sorted({tokens + 1 - f for f in first_new}),
                    "rounds": [{"others_busy": r["others"], "contended": r["contended"]}
                               for r in rows]})
    window.close()
    window.deleteLater()
    app.processEvents()
    return out


def _threads() -> int:
    import torch

    return torch.get_num_threads()


def gpt2_typing(args: argparse.Namespace, folder: Path, loaded=None) -> dict:
    """Typing at the end of a text on a GPT-2-sized model (or ``loaded``, for tests):
    continued vs full recording."""
    from explorer.state import default_tokenizer

    lengths = sorted({int(v) for v in str(args.gpt2_lengths).split(",") if v.strip()})
    if not lengths or min(lengths) < 2:
        raise ValueError("--gpt2-lengths needs lengths of at least 2 tokens")
    loaded = loaded if loaded is not None else _gpt2_sized(default_tokenizer())
    if max(lengths) > loaded.cfg.l_max:
        raise ValueError(f"--gpt2-lengths: at most l_max = {loaded.cfg.l_max} tokens")
    edits, rounds = max(1, args.gpt2_edits), max(1, args.gpt2_rounds)
    cfg = loaded.cfg
    tuned = _as_the_app()
    if getattr(args, "threads", None):
        import torch

        torch.set_num_threads(args.threads)
    return {
        "model": {"layers": cfg.n_layers, "heads": cfg.n_heads, "d_e": cfg.d_e,
                  "vocab": cfg.vocab_size, "parameters": loaded.model.num_parameters()},
        "edit": "one character typed at the end (timed), then Backspace (not timed)",
        "window": _window_typing(loaded, lengths, edits, rounds, folder),
        "recording_only": _record_only(loaded, lengths, edits, rounds),
        "torch_threads": _threads(),
        "allocator_tuned": tuned,
        "target": "window continued_ms p95 <= 1.5 x bare_forward_ms p95 at 256 tokens "
                  "(continued_over_bare_p95 <= 1.5)",
    }


def _as_the_app() -> bool:
    """The process set up as the app sets itself up (``explorer.app``)."""
    from explorer.state import allocator

    return allocator.tune()


def run(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as tmp:
        folder = Path(tmp)
        started = startup(args.arch, args.starts, folder)
        interactive = _interactive(args, folder)
        saved = folder / "after_paste.ini"
        if saved.is_file():  # the next start after the paste, as the user would make it
            interactive["typing"]["paste"]["next_start"] = startup(
                args.arch, args.starts, folder, saved)
        typing = gpt2_typing(args, folder) if getattr(args, "gpt2_edits", 0) > 0 else None
    out = {"arch": args.arch, "cpu_count": os.cpu_count(),
           "load_average_1min": round(os.getloadavg()[0], 2),
           "process_start": started, **interactive,
           "targets": {"first_paint_s": 0.5, "edit_to_update_p95_ms": 50,
                       "step_change_p95_ms": 30}}
    if typing is not None:
        out["gpt2_typing"] = typing
    return out
