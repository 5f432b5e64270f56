"""The Interventions dock as a panel: it lists ``session.interventions``, switches them,
shows their effect, and runs the sweeps on a worker thread (progress, Cancel) into a
heatmap whose cells open the head (Attention tab) or the position's step (Step tab).

When the model's weights change (training), the list stays and a sweep is not cancelled:
a running or finished sweep says it is on earlier weights, with a Re-run button. A new
model cancels and forgets the sweep."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from explorer.state.interventions import describe, site_prefix
from explorer.ui.interventions.view import InterventionsView
from explorer.ui.widgets.panel import Panel
from explorer.ui.widgets.workers import TaskThread

SITE_TITLES = {"resid": "residual stream entering the layer", "attn_out": "attention output",
               "mlp_out": "MLP output", "head_out": "each head's output (all positions)"}


@dataclass
class Sweep:
    """A finished sweep: ``kind`` "importance" or "patching", its results, the labels of
    its positions, and the model it ran on (a result of another model is not opened)."""

    kind: str
    results: Any
    positions: list[str]
    model: Any
    step: int | None = None  # the training step of the weights it ran on, if known


class InterventionsPanel(Panel):
    title = "Interventions"
    tooltip = "What is ablated, edited or patched; the effect; head and patching sweeps"
    dock = True  # the window shows it as a dock beside the Paper panel
    refresh_hidden = True  # cheap, and it comes to the front when an intervention is added

    def __init__(self) -> None:
        super().__init__(InterventionsView(), scroll=True)
        v = self.view
        v.enabled_box.toggled.connect(self._on_enabled)
        v.remove_button.clicked.connect(self._on_remove)
        v.clear_button.clicked.connect(self._on_clear)
        v.importance_button.clicked.connect(self.run_importance)
        v.patch_button.clicked.connect(self.run_patching)
        v.cancel_button.clicked.connect(self.cancel)
        v.rerun_button.clicked.connect(self.rerun)
        v.site_box.currentIndexChanged.connect(lambda _i: self._show_sweep())
        v.heatmap.cell_clicked.connect(self._on_cell_clicked)
        self._task: TaskThread | None = None
        self._cancel = threading.Event()
        self.sweep: Sweep | None = None
        self._running: tuple[str, Any, int | None] | None = None  # kind, model, step
        self._count = 0

    # -- the list ------------------------------------------------------------------------
    def refresh(self, session: Any) -> None:
        labels = list(session.trace_inputs[0])
        self.view.set_items([describe(iv, labels) for iv in session.interventions],
                            session.interventions_enabled)
        count = len(session.interventions)
        if count > self._count and self.host is not None:
            self.host.show_tab(self.title)  # the user just added one: show the list
        self._count = count
        self._show_effect(session)

    def _show_effect(self, session: Any) -> None:
        from explorer.state.step_data import vocabulary_labels

        effect = session.effect(-1)
        if effect is None:
            off = session.interventions and not session.interventions_enabled
            self.view.effect_label.setText("Switched off: the views show the model's own "
                                           "run." if off else "")
            return
        vocab = vocabulary_labels(session.tokenizer, int(session.cfg.vocab_size))
        name = vocab[effect.target]
        top = (f"the top token changed: “{vocab[effect.top_clean]}” → "
               f"“{vocab[effect.top_intervened]}”" if effect.top_changed
               else f"the top token stays “{vocab[effect.top_clean]}”")
        self.view.effect_label.setText(
            f"Effect at the last position: P(“{name}”) {effect.p_clean:.1%} → "
            f"{effect.p_intervened:.1%} (Δ {effect.delta_p * 100:+.1f} points); "
            f"KL(clean ‖ intervened) = {effect.kl:.4f} nats; {top}.")

    def _on_enabled(self, on: bool) -> None:
        if self.session is not None:
            self.session.set_interventions_enabled(on)

    def _on_remove(self) -> None:
        row = self.view.list.currentRow()
        if self.session is not None and row >= 0:
            self.session.remove_intervention(row)

    def _on_clear(self) -> None:
        if self.session is not None:
            self.session.clear_interventions()

    def model_changed(self, session: Any) -> None:
        self.cancel()
        self._count = 0
        self.sweep = None
        self.view.site_box.hide()
        self.view.heatmap.hide()
        self.view.sweep_note.setText("")
        self.view.set_stale("")

    def weights_changed(self, session: Any) -> None:
        """New weights: the list and the sweep stay; the sweep says it is on earlier ones."""
        self._show_staleness()

    # -- sweeps on earlier weights ---------------------------------------------------------
    def stale(self) -> bool:
        """The running or shown sweep is on weights the model has trained past."""
        s = self.session
        model = (self._running[1] if self._running is not None
                 else self.sweep.model if self.sweep is not None else None)
        return s is not None and model is not None and model is not s.model

    def _show_staleness(self) -> None:
        if not self.stale():
            self.view.set_stale("")
            return
        running = self._running is not None
        step = self._running[2] if running else self.sweep.step
        now = self.session.weights_step
        at = f" (step {step})" if step is not None else ""
        since = f" (now step {now})" if now is not None else ""
        self.view.set_stale(
            f"{'Running' if running else 'Computed'} on earlier weights{at}: the model has "
            f"trained since{since}. Re-run for the current weights.")

    def rerun(self) -> bool:
        """Run the sweep shown (or running) again, on the current weights."""
        kind = (self._running[0] if self._running is not None
                else self.sweep.kind if self.sweep is not None else None)
        if kind is None:
            return False
        self.cancel()
        return self.run_importance() if kind == "importance" else self.run_patching()

    # -- sweeps --------------------------------------------------------------------------
    def running(self) -> bool:
        return self._task is not None

    def busy(self) -> bool:
        return self.running()

    def run_importance(self) -> bool:
        """Ablate each head in turn on the text (Δ loss); False when it cannot start."""
        s = self.session
        if s is None or s.trace is None or self.running():
            return False
        from explorer.analysis import head_importance

        model, x, z = s.model, s.encoded.chunks[s.chunk].ids, self._context(s)
        mode = self.view.mode_box.currentData()
        labels = list(s.trace_inputs[0])

        def work(progress):
            return head_importance(model, x, context=z, mode=mode, progress=progress,
                                   cancelled=self._cancel.is_set)
        return self._start("importance", work, labels, model)

    def run_patching(self) -> bool:
        """Activation patching from text A (clean) into text B (corrupted)."""
        s = self.session
        if s is None or s.trace is None or self.running():
            return False
        from explorer.analysis import AnalysisError, activation_patching

        if not s.compare.active:
            self.view.sweep_note.setText("Patching needs a corrupted text B: press Ctrl+B "
                                         "and type one with as many tokens as A.")
            return False
        try:
            clean = s.encoded.chunks[s.chunk].ids
            corrupted = s.source_ids(s.compare.text)
            n_vocab = int(s.cfg.vocab_size)
            target = self._token(self.view.target_edit.text(), s, n_vocab, "the target",
                                 s.logits)
            other = self._token(self.view.other_edit.text(), s, n_vocab, "the other token",
                                s.compare.logits)
        except AnalysisError as exc:
            self.view.sweep_note.setText(f"Cannot patch: {exc}.")
            return False
        if len(corrupted) != len(clean):
            self.view.sweep_note.setText(
                f"Cannot patch: text A has {len(clean)} tokens and B {len(corrupted)}; "
                "patching needs two texts of the same length (change one word of A).")
            return False
        model, labels = s.model, list(s.trace_inputs[0])

        def work(progress):
            return activation_patching(model, clean, corrupted, target, other,
                                       progress=progress, cancelled=self._cancel.is_set)
        return self._start("patching", work, labels, model)

    def _token(self, text: str, s: Any, n_vocab: int, what: str, logits: Any) -> int:
        from explorer.analysis import AnalysisError
        from explorer.state.step_data import find_token

        if text.strip():
            return find_token(s.tokenizer, text, n_vocab, what)
        if logits is None:
            raise AnalysisError(f"name {what} (text B is still being recorded)")
        return int(logits[0, -1].argmax())

    @staticmethod
    def _context(s: Any) -> tuple[int, ...] | None:
        enc = s.encoded_context
        return None if enc is None else enc.chunks[s.context_chunk].ids

    def _start(self, kind: str, work, labels: list[str], model: Any) -> bool:
        self._cancel.clear()
        step = self.session.weights_step if self.session is not None else None
        v = self.view
        v.progress.setRange(0, 1)
        v.progress.setValue(0)
        v.progress.setFormat("starting…")
        v.sweep_note.setText("")
        v.set_running(True)

        def run(report):
            return work(lambda done, total: report(f"{done}/{total}"))

        def current() -> bool:  # not a cancelled sweep's late signal after a new one
            return task is self._task or self._task is None

        task = TaskThread(run, self.view)  # kept by its parent until it has finished
        task.progress.connect(lambda text: self._on_progress(text) if current() else None)
        task.succeeded.connect(lambda result: self._on_done(kind, result, labels, model, step)
                               if current() else None)
        task.failed.connect(lambda message, details: self._on_failed(message, details)
                            if current() else None)
        task.finished.connect(lambda: self._on_finished(task))
        task.finished.connect(task.deleteLater)
        self._task = task
        self._running = (kind, model, step)
        self._show_staleness()
        task.start()
        return True

    def _on_progress(self, text: str) -> None:
        done, _, total = text.partition("/")
        v = self.view
        v.progress.setRange(0, max(1, int(total)))
        v.progress.setValue(int(done))
        v.progress.setFormat("%v of %m runs")

    def cancel(self) -> None:
        """Stop the running sweep (at its next batch) and wait for it."""
        if self._task is not None:
            self._cancel.set()
            self._task.wait()
            self._on_finished(self._task)

    def _on_finished(self, task: TaskThread) -> None:
        if task is self._task:  # not a cancelled sweep's late signal after a new one
            self._task = None
            self._running = None
            self.view.set_running(False)
            self._show_staleness()

    def _on_failed(self, message: str, _details: str) -> None:
        cancelled = self._cancel.is_set() or "cancelled" in message
        self.view.sweep_note.setText("Cancelled." if cancelled else f"The sweep failed: "
                                     f"{message}")
        self.view.progress.setFormat("cancelled" if cancelled else "failed")

    def _on_done(self, kind: str, results: Any, labels: list[str], model: Any,
                 step: int | None = None) -> None:
        self.sweep = Sweep(kind, results, labels, model, step)
        v = self.view
        v.progress.setFormat("done")
        v.site_box.blockSignals(True)
        v.site_box.clear()
        if kind == "patching":
            for site in results:
                v.site_box.addItem(SITE_TITLES.get(site, site), site)
        v.site_box.blockSignals(False)
        v.site_box.setVisible(kind == "patching")
        v.heatmap.show()
        self._show_sweep()
        self._show_staleness()

    def _show_sweep(self) -> None:
        sweep = self.sweep
        if sweep is None:
            return
        v = self.view
        if sweep.kind == "importance":
            delta = sweep.results.delta.numpy()
            rows = [f"L{i + 1}" for i in range(delta.shape[0])]
            cols = [f"H{h + 1}" for h in range(delta.shape[1])]
            v.heatmap.show_values(delta, rows, cols, "Δ loss with each head "
                                  f"{sweep.results.mode}-ablated (loss without: "
                                  f"{sweep.results.base_loss:.4f} nats); red: the head helps",
                                  "Δ loss")
            v.sweep_note.setText("Click a head to open its pattern.")
            return
        site = v.site_box.currentData() or next(iter(sweep.results))
        result = sweep.results[site]
        values = result.values.numpy()
        rows = [f"L{i + 1}" for i in range(values.shape[0])]
        if result.columns == "head":
            cols = [f"H{h + 1}" for h in range(values.shape[1])]
        else:
            cols = [sweep.positions[t] if t < len(sweep.positions) else f"t{t + 1}"
                    for t in range(values.shape[1])]
        v.heatmap.show_values(values, rows, cols,
                              f"Patching A → B: {SITE_TITLES.get(site, site)}; 1 = A's logit "
                              f"difference ({result.clean_diff:.3f}), 0 = B's "
                              f"({result.corrupted_diff:.3f})", "restored")
        note = "Click a cell to open that " + ("head's pattern." if result.columns == "head"
                                               else "layer's step (the Step tab).")
        if result.weak_difference:  # |LD_A − LD_B| small against the logits' spread
            note = f"Warning: {result.weak_difference}. {note}"
        v.sweep_note.setText(note)

    def _on_cell_clicked(self, row: int, col: int) -> None:
        s, sweep = self.session, self.sweep
        if s is None or sweep is None or self.host is None:
            return
        if sweep.model is not s.model and sweep.model.cfg != s.cfg:
            self.view.sweep_note.setText("This sweep ran on another model: run it again.")
            return
        site = None if sweep.kind == "importance" else (
            self.view.site_box.currentData() or next(iter(sweep.results)))
        if site in (None, "head_out"):
            prefix = site_prefix(s.cfg, None, row)
            if s.select_name(f"{prefix}.pattern"):
                s.select_head(col)
                self.host.show_tab("Attention")
            return
        from explorer.analysis.locate import resid_step, stack_name

        prefix = stack_name(s.model, None)
        step = {"resid": resid_step(s.model, row),
                "attn_out": f"{prefix}blocks.{row}.attn.out",
                "mlp_out": f"{prefix}blocks.{row}.mlp.out"}[site]
        if s.select_name(step):
            self.host.show_tab("Step")
            self.host.show_status(f"Position t = {col + 1} of {step}: patching it restores "
                                  f"{float(np.asarray(self.view.heatmap.values)[row, col]):.0%}"
                                  " of A's logit difference", 8000)

    def shutdown(self) -> None:
        self.cancel()
