"""The Lens tab: logit lens, direct logit attribution, per-token loss and the embedding
projection of the text shown, computed on a worker thread after every trace.

While the tab is hidden only the per-token loss is computed (it colours the tokens in the
Input panel through the host's ``show_token_loss``); the rest follows when the tab
shows. Bad requests (an empty text, a classifier, an unknown target) show as a message
in the view concerned.

``LensTab.compare_with(text)`` (None or "" to stop): show a second input B beside the
text (A) in the lens grid: A, B and A − B on one colour scale, aligned on the common
prefix; B is encoded like A (same tokenizer, special tokens and context).
"""

from __future__ import annotations

import dataclasses
import weakref
from typing import Any

from PySide6.QtCore import QTimer

from explorer.analysis import AnalysisError
from explorer.analysis.common import stack_prefix
from explorer.state.inputs import encode_text, input_roles
from explorer.state.step_data import find_token, vocabulary_labels
from explorer.ui.lens.jobs import LensJob, LensRequest, run_job
from explorer.ui.lens.shown import loss_in_strip, show_depth, show_pca, target_kind
from explorer.ui.lens.view import LensView
from explorer.ui.widgets.panel import Panel
from explorer.ui.widgets.workers import TraceRunner

KICK_MS = 30  # after a new trace, the analyses wait this long for the next keystroke
# The cells in view go first when the whole lens is at least this many multiply-adds
# (points × positions × d_e × N_V; ~0.1 s on a laptop CPU): below, one job is quicker.
VIEW_FIRST_MACS = 2e9


class LensTab(Panel):
    title = "Lens"
    tooltip = ("Looking deeper: the logit lens at every layer, which head pushes the "
               "prediction (direct logit attribution), the per-token loss and a PCA of the "
               "embeddings")

    def __init__(self) -> None:
        super().__init__(LensView(), scroll=False)
        self._runner: TraceRunner | None = None  # its thread starts with the first job
        self._closed = False
        # After a new trace, the analyses start once the window's own views are drawn
        # (they are second in line), and fast typing sends only the last text.
        self._kick = QTimer(interval=KICK_MS, singleShot=True)
        self._kick.timeout.connect(lambda: self._submit(view_first=True))
        self._generation = 0
        self._follow_last = True
        self._stale = True  # the full analyses lag the trace (the tab was hidden)
        self._pca_key: tuple | None = None
        self._compare_text: str | None = None
        self._compare_b: tuple[tuple[int, ...], tuple[str, ...], Any] | None = None  # from
        # the session's text B (refresh_compare): its ids, labels and trace
        self._b_pending = False  # text B is set, its trace for this model on its way
        self._old_trace: weakref.ref | None = None  # the previous weights' trace
        self._labels: tuple[str, ...] = ()
        self._labels_b: tuple[str, ...] = ()
        self._vocab: list[str] = []
        self.last_job: LensJob | None = None
        self._unshown: set[int] = set()  # inner views that do not show last_job yet
        self._lens_at: tuple | None = None  # (ids, position) the lens grid last showed
        self._full_after: LensRequest | None = None  # the full job, after the cells in view
        v = self.view
        v.shown.connect(self._on_shown)
        v.position_box.valueChanged.connect(self._on_position)
        v.target_edit.textChanged.connect(lambda _t: self._submit())
        v.pca_source.currentIndexChanged.connect(lambda _i: self._submit())
        v.grid.column_clicked.connect(self._on_column)
        v.dla.head_clicked.connect(self._on_head)
        v.pca.row_selected.connect(self._on_pca_row)
        v.views.currentChanged.connect(self._show_inner)

    # -- the panel protocol ----------------------------------------------------------------
    def refresh(self, session: Any) -> None:
        self._kick.start()

    def refresh_selection(self, session: Any) -> None:
        step = session.step.name if session.step is not None else None
        key = (id(session.trace), step)
        if self.view.pca_source.currentData() == "residual" and key != self._pca_key \
                and self._visible() and not self._kick.isActive():  # (a new trace: kicked)
            self._submit()

    def model_changed(self, session: Any) -> None:
        self._vocab = []
        self._follow_last = True

    def weights_changed(self, session: Any) -> None:
        """New weights of the same model: the inner view, position, target, PCA source and
        scroll stay (the vocabulary too); the analyses follow the new trace (``refresh``):
        nothing is computed from the previous weights' trace meanwhile (B's trace, which
        may lag too, is recorded again with A's weights in the job: ``run_job``)."""
        trace = session.trace
        self._old_trace = weakref.ref(trace) if trace is not None else None

    def text_edited(self) -> None:
        host = self.host
        if host is not None and not host.input_texts()[0].strip():
            message = "The text is empty: type some text to analyse."
            self.view.grid.clear(message)
            self.view.dla.clear(message)
            self.view.pca.show_message(message)
            self.view.depth.clear_plot()
            self.view.grid.set_loss(None)
            show = getattr(host, "show_token_loss", None)
            if show is not None:
                show(None, {}, "")

    def busy(self) -> bool:
        return self._kick.isActive() or self._full_after is not None or (
            self._runner is not None and not self._runner.idle())

    def shutdown(self) -> None:
        self._closed = True
        self._kick.stop()
        if self._runner is not None:
            self._runner.stop()

    # -- comparing -------------------------------------------------------------------------
    def compare_with(self, text: str | None) -> None:
        """Show input B (``text``; None or "" for none) beside the text in the lens grid."""
        self._compare_text = text or None
        self._compare_b = None
        if self._compare_text is None:
            self.view.set_compare(None, ())
        self._submit()

    def refresh_compare(self, session: Any) -> None:
        """The session's second text B (``session.compare``) changed: compare with its
        trace once it is recorded, stop when B is cleared."""
        b = getattr(session, "compare", None)
        if b is None or not b.active:
            self._b_pending = False
            if self._compare_b is not None or self._compare_text is not None:
                self.compare_with(None)
            return
        if not b.ready:  # another model: B's trace of the previous one is not used
            self._b_pending = self._b_pending or self._compare_b is not None
            self._compare_b = None
            return
        self._b_pending = False
        prefix = stack_prefix(session.cfg)
        ids = tuple(int(i) for i in b.trace[f"{prefix}embed.ids"][0].tolist())
        self._compare_text = None
        self._compare_b = (ids, tuple(b.labels), b.trace)
        self._kick.start()

    # -- requests --------------------------------------------------------------------------
    def _visible(self) -> bool:
        return self.view.isVisible()

    def _on_shown(self) -> None:
        if self._stale:
            self._submit(view_first=True)

    def _vocabulary(self, session: Any) -> list[str]:
        n = int(session.cfg.vocab_size)
        if len(self._vocab) != n:
            self._vocab = vocabulary_labels(session.tokenizer, n)
        return self._vocab

    def _request(self) -> LensRequest | None:
        session = self.session
        if session is None or session.trace is None or (
                self._old_trace is not None and self._old_trace() is session.trace):
            return None  # no trace, or the previous weights' (the new one is on its way)
        trace = session.trace
        cfg = session.cfg
        prefix = stack_prefix(cfg)
        ids = tuple(int(i) for i in trace[f"{prefix}embed.ids"][0].tolist())
        context = (tuple(int(i) for i in trace["encoder.embed.ids"][0].tolist())
                   if cfg.arch == "encoder-decoder" else None)
        v = self.view
        target, target_error = None, ""
        text = v.target_edit.text()
        if text.strip():
            try:
                target = find_token(session.tokenizer, text, int(cfg.vocab_size))
            except AnalysisError as exc:
                target_error = str(exc)
        v.target_note.setText(target_error)
        v.target_note.setVisible(bool(target_error))
        v.position_box.blockSignals(True)
        v.position_box.setRange(0, max(0, len(ids) - 1))
        if self._follow_last:
            v.position_box.setValue(len(ids) - 1)
        v.position_box.blockSignals(False)
        step = session.step.name if session.step is not None else None
        specials = frozenset(int(i) for i in (session.tokenizer.special_ids or {}).values())
        compare_ids, compare_trace = None, None
        if self._compare_b is not None:
            compare_ids, self._labels_b, compare_trace = self._compare_b
        elif self._compare_text is not None:
            role = input_roles(cfg)[0]
            encoded = encode_text(session.tokenizer, self._compare_text, role,
                                  int(cfg.l_max))
            compare_ids = encoded.chunks[0].ids if encoded.chunks else ()
            self._labels_b = encoded.chunks[0].labels if encoded.chunks else ()
        self._generation += 1
        full = self._visible()
        return LensRequest(
            generation=self._generation, model=session.model, ids=ids, context=context,
            trace=trace, notes=tuple(session.loaded.notes), target=target,
            target_error=target_error, position=v.position_box.value(),
            pca_source=v.pca_source.currentData(), pca_step=step, full=full,
            mask_id=(session.tokenizer.special_ids or {}).get("mask"), specials=specials,
            compare_ids=compare_ids, compare_trace=compare_trace,
            compare_labels=tuple(self._labels_b) if compare_ids is not None else ())

    def _submit(self, view_first: bool = False) -> None:
        """Compute for the session's trace; ``view_first`` (a new trace: new text or
        weights) paints the cells in view before the rest (``_columns_first``); a change
        of position, target or projection keeps the grid shown until the whole job."""
        if self._closed:
            return
        request = self._request()
        if request is None:
            return
        self._stale = not request.full
        if request.full:
            self._pca_key = (id(request.trace), request.pca_step)
        if self._runner is None:
            self._runner = TraceRunner(run_job)
            self._runner.finished.connect(self._on_done)
        self._full_after = None
        columns = self._columns_first(request) if view_first else None
        if columns is not None:  # the cells in view first, then the whole job
            self._full_after = request
            request = dataclasses.replace(request, columns=columns)
        self._runner.submit(request)

    def _columns_first(self, request: LensRequest) -> tuple[int, ...] | None:
        """The positions the lens grid will show, when it shows fewer than the text has
        (the grid in front, no text B, a lens of ``VIEW_FIRST_MACS`` or more); None:
        compute the whole job at once."""
        v = self.view
        n = len(request.ids)
        if not request.full or request.compare_ids is not None or v.views.currentIndex() != 0:
            return None
        cfg = request.model.cfg
        points = 1 + 3 * int(cfg.n_layers)  # at most: embedding, attention, cross, MLP
        if points * n * int(cfg.d_e) * int(cfg.vocab_size) < VIEW_FIRST_MACS:
            return None
        position = n - 1 if request.position is None else request.position
        columns = v.columns_in_view(n, position, self._lens_at != (request.ids, position))
        return tuple(columns) if 0 < len(columns) < n else None

    # -- results ---------------------------------------------------------------------------
    def _on_done(self, job: Any) -> None:
        if isinstance(job, BaseException):
            self._full_after = None
            message = f"The analysis failed: {job}"
            self.view.grid.clear(message)
            self.view.dla.clear(message)
            self.view.pca.show_message(message)
            return
        if job.generation != self._generation:
            return
        session = self.session
        if session is None:
            return
        vocab = self._vocabulary(session)
        labels = list(session.trace_inputs[0])
        if len(labels) != len(job.ids):
            labels = [vocab[i] if i < len(vocab) else f"#{i}" for i in job.ids]
        if job.partial:
            self._show_partial(job, labels)
            return
        self.last_job = job
        self._labels = tuple(labels)
        self._show_loss(job, session)
        if not job.full:
            return
        # the inner view in front now, the others when they come to the front
        self._unshown = {0, 1, 2}
        self._show_inner(self.view.views.currentIndex())

    def _show_partial(self, job: LensJob, labels: list[str]) -> None:
        """The lens at the positions in view (the whole job is on its way)."""
        full, self._full_after = self._full_after, None
        if full is not None and self._runner is not None:
            self._runner.submit(full)
        v = self.view
        if job.lens is None or v.views.currentIndex() != 0:
            return
        v.grid.set_lens(job.lens, labels, self._vocab)
        if self._lens_at == (job.ids, job.position):
            v.grid.set_column(job.position)
        else:
            v.show_column(job.position)
        self._lens_at = (job.ids, job.position)

    def _show_inner(self, index: int) -> None:
        """Draw the last results in inner view ``index`` (0 lens, 1 attribution, 2 PCA)
        if it does not show them yet."""
        job = self.last_job
        if job is None or not job.full or index not in self._unshown:
            return
        self._unshown.discard(index)
        v = self.view
        labels, vocab = list(self._labels), self._vocab
        if index == 0 and job.lens is not None:
            v.grid.set_lens(job.lens, labels, vocab)
            if self._lens_at == (job.ids, job.position):  # new weights: the scroll stays
                v.grid.set_column(job.position)
            else:
                v.show_column(job.position)
            self._lens_at = (job.ids, job.position)
            comparing = self._compare_text is not None or self._compare_b is not None
            if job.lens_b is not None and comparing:
                v.set_compare(job.lens_b, job.labels_b)
            elif "compare" in job.errors and comparing:
                v.set_compare(None, ())
                v.compare_note.setText(job.errors["compare"])
                v.compare_note.show()
            elif comparing or self._b_pending:  # B's trace for this model is on its way:
                v.grid.set_compare(None)  # A alone meanwhile, the mode kept
                v.compare_note.setText("Recording text B for this model…")
            self._show_depth(job)
        elif index == 0:
            v.grid.clear(job.errors.get("lens", "No lens."))
            v.depth.clear_plot()
        elif index == 1 and job.dla is not None:
            target = job.dla.target
            kind = target_kind(job, job.position, bool(v.target_edit.text().strip()),
                               self.session.cfg.arch)
            v.dla.set_attribution(job.dla, f"logit of “{vocab[target]}” ({kind}) at position "
                                  f"{job.position} (reads “{labels[job.position]}”)")
        elif index == 1:
            v.dla.clear(job.errors.get("dla", "No attribution."))
        elif index == 2 and job.pca is not None:
            self._show_pca(job, labels, vocab)
        elif index == 2:
            v.pca.show_message(job.errors.get("pca", "No projection."))

    def _show_loss(self, job: LensJob, session: Any) -> None:
        self.view.grid.set_loss(job.loss)
        host = self.host
        show = getattr(host, "show_token_loss", None)
        if show is None:
            return
        if job.loss is None:
            show(None, (), job.errors.get("loss", ""))
            return
        shown = loss_in_strip(session, job)
        if shown is None:
            return
        values, ids = shown
        show(values, ids, job.loss.objective)

    def _show_depth(self, job: LensJob) -> None:
        show_depth(self.view, job, self._vocab, self._labels, self.session.cfg.arch)

    def _show_pca(self, job: LensJob, labels: list[str], vocab: list[str]) -> None:
        show_pca(self.view, job, labels, vocab)

    # -- the user's choices -----------------------------------------------------------------
    def _on_position(self, value: int) -> None:
        self._follow_last = value == self.view.position_box.maximum()
        self._submit()

    def _on_column(self, t: int) -> None:
        v = self.view
        job = self.last_job
        self._follow_last = t == v.position_box.maximum()
        v.position_box.setValue(t)  # submits for the attribution at t
        if job is not None and job.lens is not None:
            self._show_depth(job)
            v.pca.set_highlight(token=job.ids[t], position=t)
            v.grid.set_highlight(None)

    def _on_pca_row(self, row: int, token: int) -> None:
        v = self.view
        v.grid.set_highlight(token)
        projection = v.pca.projection
        if projection is not None and projection.what.startswith("residual"):
            v.grid.set_column(row)
            self._on_column(row)
            v.grid.set_highlight(token)

    def _on_head(self, step: str, layer: int, head: int) -> None:
        session = self.session
        if session is None:
            return
        if session.select_name(f"{step}.pattern"):
            session.select_head(head)
        show_tab = getattr(self.host, "show_tab", None)
        if show_tab is not None:
            show_tab("Attention")
