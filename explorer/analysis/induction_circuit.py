"""Proof by intervention that a model's induction head needs its previous-token head.

``prove_circuit(model, x)`` picks the induction head (the best prefix-matching head above
layer 1) and the previous-token head it should key on (the best previous-token head of an
earlier layer), then mean-ablates the previous-token head (``AblateHead``, its Y^h set to
its mean over the positions: ``explorer.analysis.interventions``) and measures again:

- the induction head's prefix-matching score, with and without the ablation;
- the loss on the first copy of each repeated sequence (unpredictable) and on the tokens
  after it (the repeats), with and without the ablation: the drop on the repeats is what
  the circuit buys.

Qt-free; layers and heads count from 0 (``to_json`` from 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from explorer.analysis.graph import Node
from explorer.analysis.heads import attention_scores, check_decoder, patterns_and_logits
from explorer.analysis.interventions import AblateHead
from explorer.core.models import TransformerModel


def periods(x: torch.Tensor) -> list[int]:
    """Each row's period: the smallest P with x[P:] == x[:-P] (the row's length if none)."""
    out = []
    for row in x:
        n = row.numel()
        out.append(next((p for p in range(1, n) if torch.equal(row[p:], row[:-p])), n))
    return out


def copy_losses(logits: torch.Tensor, x: torch.Tensor) -> tuple[float, float]:
    """(mean loss predicting the first copy's tokens 1 … P−1, mean loss predicting the
    tokens after its first repeat's first token, P + 1 …) over the rows of x."""
    losses = torch.nn.functional.cross_entropy(
        logits[:, :-1].transpose(1, 2), x[:, 1:], reduction="none")  # predicts x[:, 1:]
    first, repeat = [], []
    for row, p in zip(losses, periods(x)):
        first.append(row[: p - 1])
        repeat.append(row[p:])
    return float(torch.cat(first).mean()), float(torch.cat(repeat).mean())


@dataclass(frozen=True)
class CircuitProof:
    previous: Node  # the previous-token head
    induction: Node  # the induction head
    previous_score: float
    prefix_before: float
    prefix_after: float
    first_loss: float
    repeat_before: float
    repeat_after: float

    def to_json(self) -> dict[str, Any]:
        return {"previous_token_head": self.previous.to_json(),
                "induction_head": self.induction.to_json(),
                "previous_token_score": round(self.previous_score, 4),
                "prefix_matching": {"before": round(self.prefix_before, 4),
                                    "ablated": round(self.prefix_after, 4)},
                "loss": {"first_copy": round(self.first_loss, 4),
                         "repeats": round(self.repeat_before, 4),
                         "repeats_ablated": round(self.repeat_after, 4)}}

    @property
    def sentence(self) -> str:
        p, i = self.previous.label, self.induction.label
        return (f"Ablating {p} (previous token {self.previous_score:.2f}): {i}'s prefix "
                f"matching {self.prefix_before:.2f} → {self.prefix_after:.2f}; loss on the "
                f"repeats {self.repeat_before:.2f} → {self.repeat_after:.2f} nats (first "
                f"copy {self.first_loss:.2f})")


def prove_circuit(model: TransformerModel, x: torch.Tensor) -> CircuitProof | None:
    """The ablation proof on the repeated sequences x; None for a one-layer model."""
    check_decoder(model)
    if model.cfg.n_layers < 2:
        return None
    model.eval()
    with torch.no_grad():
        a, logits = patterns_and_logits(model, x)
        scores = attention_scores(a, x)
        prefix = scores["prefix_matching"].clone()
        prefix[0] = -1.0  # an induction head reads a head of an earlier layer
        i = int(prefix.argmax())
        layer, head = divmod(i, prefix.shape[1])
        earlier = scores["previous_token"][:layer]
        j = int(earlier.argmax())
        p_layer, p_head = divmod(j, earlier.shape[1])
        ablate = (AblateHead(p_layer, p_head, mode="mean"),)
        a2, logits2 = patterns_and_logits(model, x, ablate)
        after = attention_scores(a2, x)["prefix_matching"][layer, head]
        first, repeat = copy_losses(logits, x)
        _, repeat_after = copy_losses(logits2, x)
    return CircuitProof(Node("head", p_layer, p_head), Node("head", layer, head),
                        float(earlier[p_layer, p_head]), float(prefix[layer, head]),
                        float(after), first, repeat, repeat_after)
