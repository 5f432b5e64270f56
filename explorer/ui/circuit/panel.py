"""The Circuit tab: edge attribution (EAP or EAP-IG) from text A (clean) into text B
(corrupted, Ctrl+B), run on a worker thread with progress and Cancel; the faithfulness
curve with a size slider; the linear estimate against exact patching; a node click opens
the head's pattern (Attention tab) or the node's step (Step tab).

An encoder-decoder's text B is a second decoder input for the same context, while edge
attribution corrupts the context: such a model is analysed by ``analyze circuit``."""

from __future__ import annotations

import json
import threading
from typing import Any

from PySide6.QtWidgets import QFileDialog

from explorer.analysis.graph import Node
from explorer.ui.circuit.view import CircuitRun, CircuitView
from explorer.ui.widgets.panel import Panel
from explorer.ui.widgets.workers import TaskThread

CURVE_SIZES = 20  # points on the faithfulness curve (the slider's stops)


def compute(model: Any, clean, corrupted, target: int, other: int | None, method: str,
            steps: int, metric: str, progress, cancelled) -> CircuitRun:
    """Everything the view shows, Qt-free (the worker thread runs it)."""
    from explorer.analysis import activation_patching
    from explorer.analysis.attribution import attribution_patching
    from explorer.analysis.circuit import Circuits, curve_sizes
    from explorer.analysis.patching import SWEEP_SITES, SweepCancelled

    def report(done: int, total: int) -> None:
        if cancelled():
            raise SweepCancelled("the run was cancelled")
        progress(done, total)

    report(0, 4)
    circuits = Circuits(model, clean, corrupted, target, other, metric=metric)
    graph = circuits.graph(method, steps)
    report(1, 4)
    ranked = graph.ranked()
    curve = circuits.faithfulness(ranked, curve_sizes(len(ranked), CURVE_SIZES),
                                  max_rows=8, progress=lambda d, t: report(1, 4))
    report(2, 4)
    estimate, m = attribution_patching(model, clean, corrupted, target, other, SWEEP_SITES,
                                       metric=metric)
    exact = None
    if metric == "logit_diff":
        sweeps = activation_patching(model, clean, corrupted, target, other, SWEEP_SITES,
                                     cancelled=cancelled)
        exact = {s: r.values.numpy() for s, r in sweeps.items()}
    report(4, 4)
    title = (f"{method.upper()} circuit of the {m.name} (A {m.clean:+.3f}, "
             f"B {m.corrupted:+.3f})")
    return CircuitRun(graph, ranked, curve, {s: r.values.numpy() for s, r in estimate.items()},
                      exact, title, model)


class CircuitPanel(Panel):
    title = "Circuit"
    tooltip = "Circuit discovery: edge attribution, faithfulness, estimate vs exact patching"

    def __init__(self) -> None:
        super().__init__(CircuitView(), scroll=False)
        v = self.view
        v.run_button.clicked.connect(self.start)
        v.cancel_button.clicked.connect(self.cancel)
        v.json_button.clicked.connect(self._export_json)
        v.node_clicked.connect(self.open_node)
        self._task: TaskThread | None = None
        self._cancel = threading.Event()

    # -- running ---------------------------------------------------------------------------
    def busy(self) -> bool:
        return self._task is not None

    def start(self) -> bool:
        """Find the circuit of text A against text B; False (with a note) if it cannot."""
        s = self.session
        v = self.view
        if s is None or s.trace is None or self._task is not None:
            return False
        from explorer.analysis import AnalysisError
        from explorer.state.step_data import find_token

        if s.arch == "encoder-decoder":
            v.note.setText("In the window the Circuit view takes decoder- and encoder-only "
                           "models; for an encoder-decoder run `transformer-explorer analyze "
                           "circuit` (it corrupts the context z).")
            return False
        if not s.compare.active or s.compare.logits is None:
            v.note.setText("The circuit needs a corrupted text B: press Ctrl+B and type one "
                           "with as many tokens as A.")
            return False
        metric = v.metric_box.currentData()
        try:
            clean = s.encoded.chunks[s.chunk].ids
            corrupted = s.source_ids(s.compare.text)
            n = int(s.cfg.vocab_size)
            text = v.target_edit.text().strip()
            target = find_token(s.tokenizer, text, n, "the target") if text \
                else int(s.logits[0, -1].argmax())
            text = v.other_edit.text().strip()
            other = find_token(s.tokenizer, text, n, "the other token") if text \
                else int(s.compare.logits[0, -1].argmax())
        except AnalysisError as exc:
            v.note.setText(f"Cannot run: {exc}.")
            return False
        if len(clean) != len(corrupted):
            v.note.setText(f"Cannot run: text A has {len(clean)} tokens and B "
                           f"{len(corrupted)}; change one word of A to make B.")
            return False
        if target == other and metric == "logit_diff":
            v.note.setText("A's and B's answers are the same token: name the target and "
                           "the other token, or choose the loss or KL.")
            return False
        model = s.model
        method, steps = v.method_box.currentData(), v.steps_box.value()
        self._cancel.clear()

        def run(report):
            return compute(model, clean, corrupted, target, other, method, steps, metric,
                           lambda d, t: report(f"{d}/{t}"), self._cancel.is_set)

        task = TaskThread(run, self.view)
        task.progress.connect(lambda text: self._on_progress(task, text))
        task.succeeded.connect(lambda result: self._on_done(task, result))
        task.failed.connect(lambda message, _details: self._on_failed(task, message))
        task.finished.connect(lambda: self._on_finished(task))
        task.finished.connect(task.deleteLater)
        self._task = task
        v.set_running(True)
        v.progress.setRange(0, 4)
        v.progress.setValue(0)
        v.note.setText("Scoring every edge, then the faithfulness runs and exact patching…")
        task.start()
        return True

    def _on_progress(self, task: TaskThread, text: str) -> None:
        if task is self._task:
            done, _, total = text.partition("/")
            self.view.progress.setRange(0, int(total))
            self.view.progress.setValue(int(done))

    def _on_done(self, task: TaskThread, run: CircuitRun) -> None:
        if task is not self._task:
            return
        self.view.show_run(run)
        self.view.note.setText(f"{run.title}. Drag the size slider; click a node to open "
                               "it.")

    def _on_failed(self, task: TaskThread, message: str) -> None:
        if task is self._task:
            cancelled = self._cancel.is_set() or "cancelled" in message
            self.view.note.setText("Cancelled." if cancelled else f"Failed: {message}")

    def _on_finished(self, task: TaskThread) -> None:
        if task is self._task:
            self._task = None
            self.view.set_running(False)

    def cancel(self) -> None:
        """Stop the running analysis (at its next batch) and wait for it."""
        task = self._task
        if task is not None:
            self._cancel.set()
            task.wait()
            self._on_finished(task)

    def model_changed(self, session: Any) -> None:
        self.cancel()

    def shutdown(self) -> None:
        self.cancel()

    # -- nodes -----------------------------------------------------------------------------
    def open_node(self, node: Node) -> None:
        """A head opens its pattern in the Attention tab; the embedding, an MLP or the
        logits their step in the Step tab."""
        s, run = self.session, self.view.run
        if s is None or self.host is None or run is None:
            return
        if run.model is not s.model:
            self.view.note.setText("This circuit was found on another model: run it again.")
            return
        from explorer.analysis.locate import resid_step

        if node.kind == "head":
            if s.select_name(f"blocks.{node.layer}.attn.pattern"):
                s.select_head(node.head)
                self.host.show_tab("Attention")
            return
        step = {"embed": resid_step(s.model, 0), "logits": "logits",
                "mlp": f"blocks.{node.layer}.mlp.out"}[node.kind]
        if s.select_name(step):
            self.host.show_tab("Step")

    def _export_json(self) -> None:
        run = self.view.run
        if run is None:
            return
        path, _ = QFileDialog.getSaveFileName(self.view, "Export the circuit", "circuit.json",
                                              "JSON (*.json)")
        if path:
            self.export_json(path)

    def export_json(self, path: str) -> None:
        """The graph (every edge, best first) and the faithfulness curve as JSON."""
        run = self.view.run
        data = {"title": run.title, **run.graph.to_json(),
                "faithfulness": [{"edges": n, "recovered": f} for n, f in run.curve]}
        try:
            with open(path, "w", encoding="utf-8") as f:
                json.dump(data, f, ensure_ascii=False)
        except OSError as exc:
            if self.host is not None:
                self.host.show_error(f"{path}: cannot write the JSON ({exc.strerror})")
