"""The effect of interventions on the output: clean and intervened side by side.

At one position: the change in probability of a target token (default the clean run's
top-1 token), KL(P_clean ‖ P_intervened) and whether the top-1 token changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from explorer.analysis.common import AnalysisError, check_position
from explorer.analysis.compare import kl_divergence


@dataclass(frozen=True)
class Effect:
    """What the interventions changed at ``position``."""

    position: int
    target: int
    p_clean: float  # P_clean(target)
    p_intervened: float  # P_intervened(target)
    kl: float  # KL(P_clean ‖ P_intervened) in nats
    top_clean: int
    top_intervened: int

    @property
    def delta_p(self) -> float:
        return self.p_intervened - self.p_clean

    @property
    def top_changed(self) -> bool:
        return self.top_clean != self.top_intervened


def intervention_effect(clean_logits: torch.Tensor, logits: torch.Tensor,
                        position: int = -1, target: int | None = None) -> Effect:
    """The effect at ``position`` (negative counts from the end) of logits (…, l, N_V) of
    the intervened run against the clean run's (batch element 0)."""
    clean = clean_logits.reshape(-1, clean_logits.shape[-1]).detach().cpu()
    new = logits.reshape(-1, logits.shape[-1]).detach().cpu()
    if clean.shape != new.shape:
        raise AnalysisError("the clean and intervened outputs have different shapes: they "
                            "are not runs of the same text")
    t = check_position(position, clean.shape[0])
    p_clean = torch.softmax(clean[t].double(), dim=-1)
    p_new = torch.softmax(new[t].double(), dim=-1)
    top_clean = int(p_clean.argmax())
    if target is None:
        target = top_clean
    elif not isinstance(target, int) or not 0 <= target < clean.shape[-1]:
        raise AnalysisError(f"the target token id {target} is not in the model's "
                            f"vocabulary [0, {clean.shape[-1]})")
    return Effect(t, int(target), float(p_clean[target]), float(p_new[target]),
                  float(kl_divergence(clean[t], new[t])), top_clean, int(p_new.argmax()))
