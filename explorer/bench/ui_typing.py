"""Parts of ``bench ui`` about typing, run in the window ``bench ui`` opened (offscreen):

- ``by_length``: a keystroke (one character typed at the end, then a Backspace, both
  timed) to every view updated and the window's paints flushed, at each of ``--lengths``
  characters of text; the lengths take turns in ``--length-rounds`` rounds so that a
  burst of other work on the machine hits them all. Median and p95 per length, and
  p95(longest) / p95(shortest).
- ``burst``: ``--burst`` edits from a 0 ms timer (as fast as the event loop takes them)
  while a 2 ms timer notes its own gaps: the longest gap is the longest the window could
  not answer, from the first edit until every view shows the last one.
- ``paste``: ``--paste-mb`` MB of text pasted (Ctrl+V) into the text box, the same 2 ms
  timer noting the gaps until every view is updated: the longest GUI stall, and how many
  characters the box holds after it.

Each part says how busy the rest of the machine was meanwhile (``explorer.bench.rounds``).
"""

from __future__ import annotations

import argparse
import time

from explorer.bench.rounds import Busyness


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lengths", default="100,500,1400,5000",
                        help="text lengths in characters for by_length (100,500,1400,5000; "
                        "empty skips it)")
    parser.add_argument("--length-edits", type=int, default=60,
                        help="keystrokes timed per length (60)")
    parser.add_argument("--length-rounds", type=int, default=3,
                        help="rounds the lengths take turns in (3)")
    parser.add_argument("--burst", type=int, default=2000,
                        help="edits from a 0 ms timer for burst (2000; 0 skips it)")
    parser.add_argument("--paste-mb", type=float, default=10.0,
                        help="megabytes pasted for paste (10; 0 skips it)")


def typing_text(length: int) -> str:
    words = "the wise girl follows the sad witch and the old king sings .".split()
    text, i = "", 0
    while len(text) < length:
        text += words[i % len(words)] + " "
        i += 1
    return text[:length]


class GapTimer:
    """A 2 ms GUI timer that notes the longest time between two of its ticks."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(2)
        self.timer.timeout.connect(self._tick)
        self.gaps: list[float] = []
        self._last = 0.0

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append((now - self._last) * 1000)
        self._last = now

    def start(self) -> None:
        self.gaps = []
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> dict:
        self._tick()
        self.timer.stop()
        gaps = self.gaps or [0.0]
        return {"longest_gap_ms": round(max(gaps), 1),
                "gaps_over_50ms": sum(g > 50 for g in gaps),
                "gaps_over_100ms": sum(g > 100 for g in gaps)}


class Typist:
    """Keystrokes into the window's text box, each waited for until the views show it."""

    def __init__(self, window, app) -> None:
        self.window, self.app = window, app

    def settled(self) -> bool:
        w = self.window
        s = w.session
        return (s is not None and s.trace is not None and s.trace_inputs[0] == s.x_labels
                and not w.tracing.typing())

    def wait_settled(self, timeout_s: float = 120.0) -> None:
        from PySide6.QtCore import QEventLoop, QTimer

        deadline = time.perf_counter() + timeout_s
        while not self.settled() and time.perf_counter() < deadline:
            loop = QEventLoop()
            self.window.views_updated.connect(loop.quit)
            QTimer.singleShot(20, loop.quit)
            loop.exec()
            self.window.views_updated.disconnect(loop.quit)
        self.app.processEvents()

    def key(self, k, timeout_ms: int = 10_000) -> float:
        """Press ``k`` in the text box: milliseconds until every view shows the edit."""
        from PySide6.QtCore import QEventLoop, QTimer
        from PySide6.QtTest import QTest

        w = self.window
        expected = w.session.generation
        start = time.perf_counter()
        loop = QEventLoop()

        def updated() -> bool:
            done = w.session.generation != expected and self.settled()
            if done:
                loop.quit()
            return done

        w.views_updated.connect(updated)
        QTest.keyClick(w.inputs.text, k)
        if not updated():
            QTimer.singleShot(timeout_ms, loop.quit)
            loop.exec()
        w.views_updated.disconnect(updated)
        self.app.processEvents()  # the paints the updates asked for
        return (time.perf_counter() - start) * 1000

    def set_text(self, text: str) -> None:
        box = self.window.inputs.text
        box.setPlainText(text)
        self.wait_settled()
        box.setFocus()
        box.moveCursor(box.textCursor().MoveOperation.End)


def by_length(typist: Typist, lengths: list[int], edits: int, rounds: int,
              summary, percentile) -> dict:
    from PySide6.QtCore import Qt

    times: dict[int, list[float]] = {n: [] for n in lengths}
    per_round = max(1, edits // max(1, rounds))
    busy = []
    for rnd in range(rounds):
        order = lengths if rnd % 2 == 0 else lengths[::-1]
        with Busyness() as b:
            for n in order:
                typist.set_text(typing_text(n))
                for i in range(per_round):
                    k = Qt.Key.Key_Backspace if i % 2 else Qt.Key.Key_A
                    times[n].append(typist.key(k))
        busy.append(b.result()["others"])
    p95 = {n: percentile(v, 95) for n, v in times.items()}
    return {"edit_to_update_ms": {str(n): summary(v) for n, v in times.items()},
            "p95_ratio_longest_to_shortest": round(p95[max(lengths)]
                                                   / max(p95[min(lengths)], 1e-9), 2),
            "others_busy_per_round": busy,
            "targets": {"p95_ms": 50, "ratio": 1.3}}


def burst(typist: Typist, n: int, length: int = 100) -> dict:
    """``n`` edits from a 0 ms timer, the longest gap of a 2 ms timer meanwhile."""
    from PySide6.QtCore import QEventLoop, Qt, QTimer
    from PySide6.QtTest import QTest

    typist.set_text(typing_text(length))
    box = typist.window.inputs.text
    gaps = GapTimer()
    loop = QEventLoop()
    done = [0]

    def edit() -> None:
        QTest.keyClick(box, Qt.Key.Key_Backspace if done[0] % 2 else Qt.Key.Key_A)
        done[0] += 1
        if done[0] >= n:
            feeder.stop()
            loop.quit()

    feeder = QTimer()
    feeder.setInterval(0)
    feeder.timeout.connect(edit)
    with Busyness() as b:
        start = time.perf_counter()
        gaps.start()
        feeder.start()
        loop.exec()
        typed = time.perf_counter() - start
        typist.wait_settled()
        result = gaps.stop()
        total = time.perf_counter() - start
    return {"edits": n, "typed_s": round(typed, 2), "until_updated_s": round(total, 2),
            **result, "others_busy": b.result()["others"], "target_longest_gap_ms": 50}


def paste(typist: Typist, megabytes: float, save_to=None) -> dict:
    """Paste ``megabytes`` of text with Ctrl+V; the longest GUI stall until updated.
    ``save_to``: a path the window's settings are copied to after the paste (what the
    next start reads)."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtTest import QTest

    typist.set_text("")
    unit = "the cat sat on the mat . "
    text = unit * int(megabytes * 1_000_000 / len(unit))
    QGuiApplication.clipboard().setText(text)
    typist.app.processEvents()
    box = typist.window.inputs.text
    gaps = GapTimer()
    with Busyness() as b:
        gaps.start()
        typist.app.processEvents()
        start = time.perf_counter()
        QTest.keyClick(box, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
        typist.wait_settled()
        total = time.perf_counter() - start
        result = gaps.stop()
    kept = len(box.toPlainText())
    if save_to is not None:
        import shutil

        from explorer.ui.window.settings import settings_path

        typist.window.layout_ctl.save_settings()
        shutil.copyfile(settings_path(), save_to)
    banner = typist.window.banner
    out = {"pasted_chars": len(text), "box_chars": kept, "until_updated_s": round(total, 2),
           **result, "banner": banner.text() if banner.isVisible() else "",
           "others_busy": b.result()["others"], "target_longest_gap_ms": 500}
    QGuiApplication.clipboard().clear()
    typist.set_text("")
    return out


def run(window, app, args: argparse.Namespace, summary, percentile, folder=None) -> dict:
    """Every typing part ``args`` asks for, in ``window`` (``folder``: where the settings
    saved after the paste go, as ``after_paste.ini``)."""
    typist = Typist(window, app)
    out: dict = {}
    lengths = sorted({int(v) for v in str(args.lengths).split(",") if v.strip()})
    if lengths:
        out["by_length"] = by_length(typist, lengths, args.length_edits, args.length_rounds,
                                     summary, percentile)
    if args.burst > 0:
        out["burst"] = burst(typist, args.burst)
    if args.paste_mb > 0:
        out["paste"] = paste(typist, args.paste_mb,
                             folder / "after_paste.ini" if folder is not None else None)
    return out
