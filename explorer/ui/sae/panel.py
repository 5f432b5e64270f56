"""The SAE tab: train a sparse autoencoder on the model shown, off the GUI thread with
live metrics, read its features and intervene with them.

Training runs on a ``TaskThread`` (``explorer.analysis.sae.SAETrainer``), reporting every
few steps; when it ends the SAE is saved in SAELens's layout under ``saes_dir`` (so the
interventions made with it, and scenes holding them, can name its folder) and its
features' densities and top contexts are computed on held-out text. The weights the SAE
was trained on are remembered: when the model trains on (the Train tab), the tab says
that the SAE and its metrics describe earlier weights. The feature page reads the typed
text's activations from the session's trace, so interventions show in it too.
"""

from __future__ import annotations

import html
import threading
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QFileDialog

from explorer.analysis import AnalysisError
from explorer.analysis.sae import (
    FeatureAblate,
    FeatureClamp,
    FeatureSteer,
    SAETrainer,
    TokenWindows,
    TrainSettings,
    feature_stats,
    load_sae,
    logit_effect,
    nearest_features,
    site_for,
    top_contexts,
)
from explorer.analysis.sae.checkpoint import save_training
from explorer.tokenize import token_labels
from explorer.trace.record import weights_key
from explorer.ui.sae.view import SAEView, shaded_tokens
from explorer.ui.widgets.panel import Panel
from explorer.ui.widgets.workers import TaskThread

REPORT_EVERY = 10  # steps between live metrics
MAX_ROWS = 2000  # features listed (the densest; a large SAE's list stays quick)
STAT_WINDOWS = 64  # held-out windows the densities and top contexts are computed on


class SAETab(Panel):
    title = "SAE"
    tooltip = ("Sparse autoencoders on this model: train one live, read its features, "
               "ablate, clamp or steer with them")

    def __init__(self) -> None:
        super().__init__(SAEView(), scroll=False)
        base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
        self.saes_dir = Path(base or Path.home() / ".transformer-explorer") / "saes"
        self.sae = self.site = self.folder = self.stats = None
        self.feature: int | None = None
        self._key: tuple | None = None  # the weights the SAE was trained on
        self._task: TaskThread | None = None
        self._model: Any = None  # the model the SAE being made reads
        self._stop = threading.Event()
        v = self.view
        v.train_button.clicked.connect(self.train)
        v.stop_button.clicked.connect(self._stop.set)
        v.open_button.clicked.connect(self._on_open)
        v.table.itemSelectionChanged.connect(self._on_pick)
        v.ablate_button.clicked.connect(lambda: self._intervene("ablate"))
        v.clamp_button.clicked.connect(lambda: self._intervene("clamp"))
        v.steer_button.clicked.connect(lambda: self._intervene("steer"))

    # -- the panel protocol ------------------------------------------------------------
    def model_changed(self, session: Any) -> None:
        self._forget()
        v, cfg = self.view, session.cfg
        v.site_box.clear()
        if cfg.arch == "encoder-decoder":
            v.status.setText("SAEs read decoder-only or encoder-only models.")
            v.train_button.setEnabled(False)
            return
        v.train_button.setEnabled(True)
        for i in range(cfg.n_layers):
            for step, what in (("resid_mlp", "residual after MLP"), ("mlp.out", "MLP output"),
                               ("attn.out", "attention output")):
                v.site_box.addItem(f"Layer {i + 1} · {what}", f"blocks.{i}.{step}")
        v.site_box.setCurrentIndex(v.site_box.findData(f"blocks.{min(1, cfg.n_layers - 1)}"
                                                       ".resid_mlp"))
        v.data_edit.setText(str((cfg.extra or {}).get("data", "")))

    def refresh(self, session: Any) -> None:
        if self.view.site_box.count() == 0:
            self.model_changed(session)
        self._show_stale(session)
        if self.sae is not None:
            if self.stats is None or self.view.table.rowCount() == 0:
                self._fill_table()  # ordered by the text's activations: a new order
            else:
                self._update_text_column()
            if self.feature is not None:
                self.show_feature(self.feature)

    def weights_changed(self, session: Any) -> None:
        self._show_stale(session)

    def busy(self) -> bool:
        return self._task is not None

    def shutdown(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.wait()

    # -- training ----------------------------------------------------------------------
    def train(self) -> bool:
        session = self.session
        if session is None or self._task is not None:
            return False
        v = self.view
        model, tok = session.model, session.tokenizer
        try:
            site, d = site_for(model, v.site_box.currentData() or "")
            settings = TrainSettings(kind=v.kind_box.currentData(), k=v.k_spin.value(),
                                     expansion=v.expansion_spin.value(),
                                     steps=v.steps_spin.value())
            settings.check()
        except AnalysisError as exc:
            v.status.setText(str(exc))
            return False
        data = v.data_edit.text().strip()
        if not data:
            v.status.setText("Give the data to train on: a bundled data set or a text file.")
            return False
        folder = self.saes_dir / f"{site.step}-{time.strftime('%Y%m%d-%H%M%S')}"
        key = weights_key(model)
        self._stop.clear()

        def work(report):
            windows = TokenWindows.from_data(data, tok, model.cfg.l_max)
            trainer = SAETrainer(model, site, d, windows, settings)
            while trainer.step_count < settings.steps and not self._stop.is_set():
                r = trainer.step()
                if r.step % REPORT_EVERY == 0 or r.step == 1:
                    report(f"Training: step {r.step}/{settings.steps} · FVU {r.fvu:.3f} · "
                           f"L0 {r.l0:.1f} · dead {r.dead_fraction:.1%} · "
                           f"{r.activations / max(r.seconds, 1e-9):,.0f} activations/s")
            if trainer.step_count == 0:
                raise AnalysisError("stopped before the first step")
            report("Measuring the SAE and its features on held-out text…")
            metrics = trainer.evaluate()
            save_training(trainer, folder, session.loaded.label, data, metrics)
            sae = trainer.sae()
            return sae, site, folder, feature_stats(model, sae, site,
                                                    windows.held_out(STAT_WINDOWS)), metrics

        self._key = key
        self._model = model
        self._start(work, f"Training an SAE at {site.label(model)}…")
        return True

    def _on_open(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.view, "Open an SAE folder (cfg.json "
                                                  "+ sae_weights.safetensors)")
        if folder:
            self.open(folder)

    def open(self, folder: str | Path) -> bool:
        """Open the SAE in ``folder`` for the model shown (a message when it does not fit)."""
        session = self.session
        if session is None or self._task is not None:
            return False
        model, tok = session.model, session.tokenizer
        data = self.view.data_edit.text().strip()
        try:
            sae, site = load_sae(folder, model)
        except AnalysisError as exc:
            self.view.status.setText(str(exc))
            return False

        def work(report):
            stats = None
            if data:
                windows = TokenWindows.from_data(data, tok, model.cfg.l_max)
                stats = feature_stats(model, sae, site, windows.held_out(STAT_WINDOWS))
            return sae, site, Path(folder), stats, {}

        self._key = None  # trained elsewhere: on which weights is not known
        self._model = model
        self._start(work, f"Opening {folder}…")
        return True

    def _start(self, work, text: str) -> None:
        v = self.view
        v.status.setText(text)
        v.set_training(True)
        task = self._task = TaskThread(work)
        task.progress.connect(v.status.setText)
        task.succeeded.connect(self._on_ready)
        task.failed.connect(lambda message, _details: self._on_failed(message))
        task.finished.connect(self._on_finished)
        task.start()

    def _on_finished(self) -> None:
        self._task = None
        self.view.set_training(False)

    def _on_failed(self, message: str) -> None:
        self.view.status.setText(f"The SAE could not be made: {message}")

    def _on_ready(self, result: tuple) -> None:
        v = self.view
        if self.session is None or self.session.model is not self._model:
            v.status.setText(f"The SAE in {result[2]} was made for the model shown before: "
                             "open it again for this one if it fits.")
            return
        self.sae, self.site, self.folder, self.stats, metrics = result
        text = f"{self.sae.label} at {self.site.label(self.session.model)}, saved in " \
            f"{self.folder}."
        if metrics:
            ce = metrics.get("ce_loss_recovered")
            text += (f" Held out: FVU {metrics['fvu']:.3f}, L0 {metrics['l0']:.1f}, dead "
                     f"{metrics['dead_fraction']:.1%}" +
                     (f", CE loss recovered {ce:.3f}" if ce is not None else "") + ".")
        v.status.setText(text)
        if self.stats is not None:
            v.show_density(self.stats.density.numpy())
        self._fill_table()
        if v.table.rowCount():
            v.table.selectRow(0)
        self._show_stale(self.session)

    def _forget(self) -> None:
        self.sae = self.site = self.folder = self.stats = None
        self.feature, self._key = None, None
        self.view.table.setRowCount(0)
        self.view.set_feature_actions(False)
        self.view.stale.hide()

    def _show_stale(self, session: Any) -> None:
        v = self.view
        old = self._key is not None and session is not None and \
            weights_key(session.model) != self._key
        v.stale.setText("This SAE was trained on earlier weights of the model (it has trained "
                        "since): its metrics and features describe those weights." if old else "")
        v.stale.setVisible(old)

    # -- features ------------------------------------------------------------------------
    def _text_acts(self):
        """(labels, (l, d_sae) activations) of the typed text, from the session's trace."""
        s = self.session
        if s is None or s.trace is None or self.site.step not in s.trace:
            return [], None
        x = self.site.read(s.trace[self.site.step])[0]
        return list(s.trace_inputs[0]), self.sae.encode(x.to(self.sae.W_dec)).detach()

    def _fill_table(self) -> None:
        _, acts = self._text_acts()
        peak = acts.max(dim=0).values if acts is not None and len(acts) else None
        if self.stats is not None:
            order = self.stats.density.argsort(descending=True).tolist()
            density = self.stats.density.tolist()
        else:
            order = list(range(self.sae.d_sae)) if peak is None else \
                peak.argsort(descending=True).tolist()
            density = [float("nan")] * self.sae.d_sae
        order = order[:MAX_ROWS]
        selected = self.feature
        self.view.table.blockSignals(True)
        self.view.fill_table([(f, density[f], None if peak is None else float(peak[f]))
                              for f in order])
        if selected in order:
            self.view.table.selectRow(order.index(selected))
        self.view.table.blockSignals(False)

    def _update_text_column(self) -> None:
        """The "max on text" column for a new trace (the rows keep their order)."""
        _, acts = self._text_acts()
        if acts is None or not len(acts):
            return
        peak = acts.max(dim=0).values.tolist()
        table = self.view.table
        for r in range(table.rowCount()):
            table.item(r, 2).setText(f"{peak[int(table.item(r, 0).text())]:.2f}")

    def _on_pick(self) -> None:
        rows = self.view.table.selectionModel().selectedRows()
        if rows and self.sae is not None:
            item = self.view.table.item(rows[0].row(), 0)
            self.show_feature(int(item.text()))

    def show_feature(self, feature: int) -> None:
        """Feature ``feature``'s page."""
        self.feature = feature
        s, sae, tok = self.session, self.sae, self.session.tokenizer
        parts = [f"<h3>Feature {feature}</h3>"]
        if self.stats is not None:
            parts.append(f"Fires on {float(self.stats.density[feature]):.2%} of the held-out "
                         "tokens.")
        labels, acts = self._text_acts()
        if acts is not None:
            row = acts[:, feature].tolist()
            parts.append("<p><b>On your text</b><br>" + shaded_tokens(labels, row, max(
                max(row, default=0.0), 1e-6)) + f" &nbsp; (max {max(row, default=0.0):.2f})")
        if self.stats is not None:
            contexts = top_contexts(s.model, sae, self.site, self.stats, feature)
            top = max((c.acts[c.focus] for c in contexts), default=0.0)
            lines = [shaded_tokens(token_labels(tok, c.ids), c.acts, top, c.focus) +
                     f" &nbsp; <i>{c.acts[c.focus]:.2f}</i>" for c in contexts[:6]]
            parts.append("<p><b>Where it fires most (held-out text)</b><br>" +
                         ("<br>".join(lines) or "It never fires there."))
        if sae.d_in == s.cfg.d_e and getattr(s.model, "head", None) is None:
            effect = logit_effect(s.model, sae, feature)
            n = min(8, effect.numel())
            up = token_labels(tok, effect.topk(n).indices.tolist())
            down = token_labels(tok, (-effect).topk(n).indices.tolist())
            parts.append("<p><b>What it writes towards the output (W_dec[f] through the final "
                         "norm and W_u)</b><br>up: " + " ".join(
                             f"<code>{html.escape(t)}</code>" for t in up) + "<br>down: " +
                         " ".join(f"<code>{html.escape(t)}</code>" for t in down))
        near = nearest_features(sae, feature, 5)
        parts.append("<p><b>Nearest features (decoder cosine)</b><br>" + ", ".join(
            f"{i} ({c:.2f})" for i, c in near))
        self.view.detail.setText("".join(parts))
        self.view.set_feature_actions(True)

    def _intervene(self, how: str) -> bool:
        s = self.session
        if s is None or self.feature is None or self.folder is None:
            return False
        v = self.view
        positions = None
        if v.where_box.currentData() == "last" and s.trace_inputs[0]:
            positions = (len(s.trace_inputs[0]) - 1,)
        folder, f = str(self.folder), self.feature
        iv = {"ablate": lambda: FeatureAblate(folder, f, positions=positions),
              "clamp": lambda: FeatureClamp(folder, f, value=v.clamp_spin.value(),
                                            positions=positions),
              "steer": lambda: FeatureSteer(folder, f, alpha=v.alpha_spin.value(),
                                            positions=positions)}[how]()
        return s.add_intervention(iv)
