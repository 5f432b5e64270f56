"""The normalised metric of gradient-based patching (attribution, edge attribution, path
patching): 0 is the corrupted run, 1 the clean run, as ``analyze patch`` normalises it.

Three kinds, read from the logits at one position T (the last by default):

- ``logit_diff``: logit[target] − logit[other] (``analyze patch``'s metric);
- ``loss``: the cross-entropy −log p(target);
- ``kl``: KL(p_clean ‖ p), the clean run's distribution against the run's (0 for the
  clean run itself).

Normalised: (m − m_corrupted) / (m_clean − m_corrupted). It is differentiable, so that
``torch.autograd.grad`` of it gives what the linear estimates multiply.
"""

from __future__ import annotations

import torch

from explorer.analysis.common import AnalysisError, check_position, check_token

METRICS = ("logit_diff", "loss", "kl")


class Metric:
    """The metric of one clean/corrupted pair; ``clean_logits``/``corrupted_logits``
    (1, l, N_V) the plain runs' logits."""

    def __init__(self, kind: str, cfg, clean_logits: torch.Tensor,
                 corrupted_logits: torch.Tensor, target: int, other: int | None = None,
                 position: int = -1) -> None:
        if kind not in METRICS:
            raise AnalysisError(f"the metric {kind!r} is not one of {', '.join(METRICS)}")
        self.kind = kind
        self.target = check_token(target, cfg)
        if kind == "logit_diff":
            if other is None:
                raise AnalysisError("the logit difference needs the other token")
            self.other = check_token(other, cfg, "the other token")
            if self.target == self.other:
                raise AnalysisError("the target and the other token are the same: their "
                                    "logit difference is always 0")
        self.position = check_position(position, int(clean_logits.shape[1]))
        self.clean_logp = torch.log_softmax(clean_logits[:, self.position].double(), -1)
        self.clean = float(self.raw(clean_logits)[0])
        self.corrupted = float(self.raw(corrupted_logits)[0])
        if abs(self.clean - self.corrupted) <= 1e-6 * (1 + abs(self.clean)):
            raise AnalysisError(f"the clean and corrupted texts give the same {self.name}: "
                                "there is nothing for patching to restore")

    @property
    def name(self) -> str:
        return {"logit_diff": "logit difference", "loss": "loss",
                "kl": "KL divergence to the clean run"}[self.kind]

    def raw(self, logits: torch.Tensor) -> torch.Tensor:
        """The metric (float64) of each row of logits (B, l, N_V)."""
        last = logits[:, self.position].double()
        if self.kind == "logit_diff":
            return last[:, self.target] - last[:, self.other]
        logp = torch.log_softmax(last, dim=-1)
        if self.kind == "loss":
            return -logp[:, self.target]
        clean = self.clean_logp.to(logp.device)
        return (clean.exp() * (clean - logp)).sum(-1)

    def normalised(self, logits: torch.Tensor) -> torch.Tensor:
        """(m − m_corrupted) / (m_clean − m_corrupted) of each row: 0 corrupted, 1 clean."""
        return (self.raw(logits) - self.corrupted) / (self.clean - self.corrupted)
