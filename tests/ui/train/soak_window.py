"""A lecture in fast-forward, run as its own process by ``test_ui_soak.py``.

The real window (as ``explorer.app`` builds it) trains live from the Train tab while a
scripted user types into the text box, steps through the forward pass and switches tabs,
so every view redraws for ``SOAK_SECONDS`` (default 150). Then the window is closed as a
user would (the "stop and save?" question answered Yes). Prints one JSON line: steps
trained, where the run was saved, resident memory after warm-up and at the end, how many
models are alive at the end, and the reference counts of None, True and False. An abort
(PySide6 6.12.0's refcount leak) ends the process with a non-zero code, which is what the
test looks for first.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time

WARM_UP_S = 30  # the first curves, traces and caches; the memory may not grow after it

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def live_models() -> int:
    """How many models are alive: the trainer's, the one the views show and a few in
    flight, not one per weight snapshot the views were shown."""
    import gc

    from explorer.core.models import TransformerModel

    gc.collect()
    # type(), not isinstance: that would read __class__ of every object (lazy modules...)
    return sum(issubclass(type(o), TransformerModel) for o in gc.get_objects())


def main() -> int:
    seconds = float(os.environ.get("SOAK_SECONDS", "150"))
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from explorer.ui.widgets import theme
    from explorer.ui.widgets.pyside_fix import collect_garbage_on_gui_thread
    from explorer.ui.window.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    collect_garbage_on_gui_thread(app)
    theme.apply_theme(app)
    window = MainWindow(arch="decoder", text="the king sings .")
    window.resize(1280, 800)
    window.show()
    report: dict = {"seconds": seconds}
    state = {"tick": 0, "t0": None, "rss0": None, "closing": False}

    def train_panel():
        return window.panel("Train").view

    def begin() -> None:
        panel = train_panel()
        panel.ask = lambda title, text: True  # "Stop and save?" -> Yes, at the end
        panel.form.size_box.setCurrentIndex(0)
        panel.form.batch_spin.setValue(16)
        panel.form.steps_spin.setValue(100_000)
        panel.form.device_box.setCurrentText("cpu")
        window.tabs.setCurrentWidget(window.tabs.widget(window.tabs.count() - 1))
        panel.start()
        state["t0"] = time.monotonic()
        user.start(250)

    def act() -> None:
        """One action of the scripted user, four a second."""
        if state["closing"]:
            return
        if state["rss0"] is None and time.monotonic() - state["t0"] > WARM_UP_S:
            state["rss0"] = rss_mb()  # after warm-up: the first curves, traces and caches
        tick = state["tick"] = state["tick"] + 1
        text = window.inputs.text
        if tick % 8 == 0:
            text.setFocus()
            QTest.keyClicks(text, "a ")
        elif tick % 8 == 4:
            text.setFocus()
            QTest.keyClick(text, Qt.Key.Key_Backspace)
            QTest.keyClick(text, Qt.Key.Key_Backspace)
        elif tick % 8 in (1, 5):
            QTest.keyClick(text, Qt.Key.Key_Escape)
            window.focus_steps()
            QTest.keyClick(window.heatmap.plot, Qt.Key.Key_Right)
        elif tick % 8 == 2:
            window.tabs.setCurrentIndex((tick // 8) % window.tabs.count())
        elif tick % 8 == 6:  # every 16 s, 16 s of comparing with a text B
            comparing = (tick // 64) % 2 == 1
            if window.inputs.compare_visible() != comparing:
                window.menus.compare_action.trigger()
            if comparing:
                box = window.inputs.compare
                box.setFocus()
                if (tick // 8) % 2:
                    QTest.keyClicks(box, "b ")
                else:
                    QTest.keyClick(box, Qt.Key.Key_Backspace)
                window.panel("Attention").view.set_mode(("A", "B", "A − B")[(tick // 8) % 3])
                report["compare_actions"] = report.get("compare_actions", 0) + 1
        elif tick % 16 == 7 and window.session is not None:  # ablate a head, then remove it
            if window.session.interventions:
                window.panel("Interventions").view.clear_button.click()
            else:
                window.panel("Attention")._on_ablate_key("blocks.0.attn", 0, 1)
            report["intervention_actions"] = report.get("intervention_actions", 0) + 1
        if time.monotonic() - state["t0"] >= seconds:
            finish()

    def finish() -> None:
        state["closing"] = True
        user.stop()
        panel = train_panel()
        report["steps"] = int(panel.trainer.step) if panel.trainer is not None else 0
        report["training_before_close"] = panel.is_training()
        report["live_models"] = live_models()
        side = window.panel("Side by side")  # shown once: its three columns' own models
        sync = getattr(side, "sync", None)
        report["side_by_side_models"] = len(sync.columns) if sync is not None else 0
        report["rss_end_mb"] = round(rss_mb(), 1)  # still training, as after warm-up
        window.close()
        report["closed"] = not window.isVisible()
        report["run_dir"] = str(panel.run_dir) if panel.run_dir is not None else None
        report["rss_start_mb"] = round(state["rss0"] or 0.0, 1)
        report["rss_peak_mb"] = round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        report["refcounts"] = {name: sys.getrefcount(v) for name, v in
                               (("None", None), ("True", True), ("False", False))}
        report["user_actions"] = state["tick"]
        QTimer.singleShot(0, app.quit)

    user = QTimer()
    user.timeout.connect(act)
    window.session_ready.connect(lambda: QTimer.singleShot(500, begin))
    QTimer.singleShot(0, window.start)
    code = app.exec()
    window.shutdown()
    print(json.dumps(report), flush=True)
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
