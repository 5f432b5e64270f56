"""The Output tab: the output distribution at a position, with a temperature."""

from __future__ import annotations

from typing import Any

from explorer.tokenize import vocabulary_labels
from explorer.ui.output.view import OutputDistributionWidget
from explorer.ui.widgets.panel import Panel


class OutputTab(Panel):
    title = "Output"
    tooltip = ("The output distribution at a position as ranked bars, with a temperature "
               "slider (Algorithm 14: p^(1/τ))")
    scene_views = ("output",)

    def __init__(self) -> None:
        super().__init__(OutputDistributionWidget())

    def refresh(self, session: Any) -> None:
        trace = session.trace
        if "logits" not in trace:
            self.view.clear("This model has no token output (a classifier): see the class "
                            "probabilities step.")
            return
        logits = trace["logits"][0]
        names = vocabulary_labels(session.tokenizer, int(logits.shape[-1]))
        title = None
        if session.arch == "encoder":
            title = "Token distribution P[:, t] at a position (a masked-token model)"
        self.view.set_logits(logits, names, session.trace_inputs[0], title)
        self.refresh_compare(session)

    def refresh_compare(self, session: Any) -> None:
        """Beside the bars: the clean run while interventions act (they come first), else
        text B while comparing, else nothing."""
        from explorer.analysis import kl_divergence
        from explorer.state.compare import output_comparison

        trace = session.trace
        if trace is not None and getattr(trace, "interventions", None) and \
                session.clean_logits is not None and "logits" in trace:
            clean = session.clean_logits[0].float()
            kl = kl_divergence(clean, trace["logits"][0].float())
            self.view.set_second(clean, kl, "", ("intervened", "clean"),
                                 "KL(P_clean ‖ P_intervened)")
            return
        b = session.compare
        if not b.ready or trace is None or "logits" not in trace:
            if b.trace is None:
                self.view.set_second(None)
            return
        try:
            comparison = output_comparison(session)
        except ValueError:
            self.view.set_second(None)
            return
        self.view.set_second(b.trace["logits"][0], comparison.kl, comparison.note)
