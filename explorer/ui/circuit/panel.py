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


def circuit_inputs(session: Any, compare: str, options: dict[str, Any]) -> tuple:
    """(clean, corrupted, target, other) of text A against ``compare`` (text B) with the
    tokens ``options`` name (default: each text's top token at the last position);
    AnalysisError (a sentence for the user) when they cannot be patched."""
    import torch

    from explorer.analysis import AnalysisError
    from explorer.state.step_data import find_token

    s = session
    if s.arch == "encoder-decoder":
        raise AnalysisError("in the window the Circuit view takes decoder- and encoder-only "
                            "models; for an encoder-decoder run `transformer-explorer analyze "
                            "circuit` (it corrupts the context z).")
    if not compare:
        raise AnalysisError("the circuit needs a corrupted text B: press Ctrl+B and type "
                            "one with as many tokens as A.")
    clean = s.encoded.chunks[s.chunk].ids
    corrupted = s.source_ids(compare)
    if len(clean) != len(corrupted):
        raise AnalysisError(f"text A has {len(clean)} tokens and B {len(corrupted)}; "
                            "change one word of A to make B.")
    n = int(s.cfg.vocab_size)
    tokens = []
    for key, ids, what in (("target", clean, "the target"), ("other", corrupted,
                                                             "the other token")):
        text = str(options.get(key) or "").strip()
        if text:
            tokens.append(find_token(s.tokenizer, text, n, what))
        else:
            with torch.no_grad():
                x = torch.tensor([list(ids)], device=next(s.model.parameters()).device)
                tokens.append(int(s.model(x)[0, -1].argmax()))
    if tokens[0] == tokens[1] and options.get("metric", "logit_diff") == "logit_diff":
        raise AnalysisError("A's and B's answers are the same token: name the target and "
                            "the other token, or choose the loss or KL.")
    return clean, corrupted, tokens[0], tokens[1]


def circuit_scene_view(session: Any, scene: Any) -> CircuitView:
    """The scene's circuit computed here and drawn without a window (``render``);
    ValueError (a sentence) when the scene's texts or tokens cannot be patched."""
    from explorer.analysis import AnalysisError

    options = scene.view_options
    try:
        clean, corrupted, target, other = circuit_inputs(session, scene.compare, options)
        run = compute(session.model, clean, corrupted, target, other,
                      options.get("method", "eap"), int(options.get("steps", 5)),
                      options.get("metric", "logit_diff"), lambda _d, _t: None, lambda: False)
    except AnalysisError as exc:
        raise ValueError(f"the circuit view: {exc}") from None
    view = CircuitView()
    view.controls.hide()
    view.set_options(options)
    view.show_run(run)
    if isinstance(options.get("edges"), int):
        view.select_size(options["edges"])
    return view


class CircuitPanel(Panel):
    title = "Circuit"
    tooltip = "Circuit discovery: edge attribution, faithfulness, estimate vs exact patching"
    scene_views = ("circuit",)

    def __init__(self) -> None:
        super().__init__(CircuitView(), scroll=False)
        v = self.view
        v.run_button.clicked.connect(self.start)
        v.cancel_button.clicked.connect(self.cancel)
        v.json_button.clicked.connect(self._export_json)
        v.node_clicked.connect(self.open_node)
        self._task: TaskThread | None = None
        self._cancel = threading.Event()
        self._size: int | None = None  # the circuit size a scene asks for

    # -- scenes ----------------------------------------------------------------------------
    def show_scene_view(self, view: str, scene: Any) -> None:
        """The scene's method, metric and tokens (``view_options``), run at once; the
        slider at the scene's circuit size (``"edges"``) when it is done."""
        self.view.set_options(scene.view_options)
        self._size = scene.view_options.get("edges")
        self.start()

    def scene_fields(self) -> dict[str, Any]:
        return {"view": "circuit", "view_options": self.view.options()}

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

        options = v.options()
        try:
            clean, corrupted, target, other = circuit_inputs(s, s.compare.text, options)
        except AnalysisError as exc:
            v.note.setText(f"Cannot run: {exc}")
            return False
        model = s.model
        self._cancel.clear()

        def run(report):
            return compute(model, clean, corrupted, target, other, options["method"],
                           options["steps"], options["metric"],
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
        if self._size is not None:
            self.view.select_size(self._size)
            self._size = None
        self.view.note.setText(f"{run.title} · the slider sets the circuit's size; a node "
                               "opens")

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
