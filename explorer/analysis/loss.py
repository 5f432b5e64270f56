"""Per-token loss: the training objective's terms, one per predicted token.

- decoder (Algorithm 13): −log P[x[t+1], t] at t = 0 … l−2 (0-based positions);
- encoder (Algorithm 12): −log P[x[t], t] at the masked positions T̃, the model reading
  x̃ (x with mask_token at T̃); all masked in one copy, or each alone (one copy per
  position, run as one batch: "how surprised is the model by this token");
- encoder-decoder (Algorithm 11): −log P[x[t+1], t] of the decoder given the context z.

``mean`` is the objective's loss for the same text (``explorer.train.objectives``), and
``total`` the paper's sum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from explorer.analysis.common import AnalysisError, Ids, check_position, prepare, trace_for
from explorer.core.models import TransformerModel
from explorer.trace import Trace

_BATCH = 64  # masked copies per forward pass when each position is masked alone


@dataclass(frozen=True)
class TokenLoss:
    """Loss per predicted token.

    ``positions`` (n,) the position whose output distribution is scored, ``targets`` (n,)
    the token it should give, ``losses`` (n,) −log P in nats. ``per_position`` (l,) puts
    each loss at the position of the token it scores (the strip under the tokens; NaN
    where no token is scored).
    """

    objective: str  # "next-token", "masked" or "seq2seq"
    positions: torch.Tensor
    targets: torch.Tensor
    losses: torch.Tensor
    per_position: torch.Tensor

    @property
    def mean(self) -> float:
        return float(self.losses.mean()) if self.losses.numel() else float("nan")

    @property
    def total(self) -> float:
        return float(self.losses.sum())

    @property
    def count(self) -> int:
        return int(self.losses.numel())


def _next_token(objective: str, logits: torch.Tensor, x: torch.Tensor) -> TokenLoss:
    logp = torch.log_softmax(logits[:-1].float(), dim=-1)  # (l-1, N_V)
    target = x[1:]
    losses = -logp.gather(1, target[:, None])[:, 0]
    per = torch.full((x.numel(),), float("nan"))
    per[1:] = losses
    return TokenLoss(objective, torch.arange(x.numel() - 1), target, losses, per)


def token_loss(model: TransformerModel, ids: Ids, *, context: Ids | None = None,
               trace: Trace | None = None, masked: Sequence[int] | None = None,
               mask_id: int | None = None, together: bool = True) -> TokenLoss:
    """The per-token loss of ``ids`` under the model's training objective.

    An encoder needs ``masked`` (positions of ``ids`` to replace by ``mask_id``; ``ids``
    are the original tokens) and ``mask_id``; ``together=False`` masks each position
    alone. A decoder or encoder-decoder needs at least two tokens (one to predict).
    """
    cfg = model.cfg
    inputs = prepare(model, ids, context)
    x = inputs.x[0].cpu()
    if cfg.arch == "encoder":
        return _masked(model, inputs.x, masked, mask_id, together)
    if inputs.length < 2:
        raise AnalysisError("the loss needs at least two tokens: one to read and the next "
                            "to predict")
    trace = trace_for(model, inputs, trace, ["logits"])
    objective = "seq2seq" if cfg.arch == "encoder-decoder" else "next-token"
    return _next_token(objective, trace["logits"][0].cpu(), x)


def _masked(model: TransformerModel, x: torch.Tensor, masked: Sequence[int] | None,
            mask_id: int | None, together: bool) -> TokenLoss:
    length = x.shape[1]
    if mask_id is None:
        raise AnalysisError("the masked-token loss needs the tokenizer's mask token, and "
                            "this model has none")
    if not 0 <= int(mask_id) < model.cfg.vocab_size:
        raise AnalysisError(f"the mask token id {mask_id} is outside the vocabulary")
    if not masked:
        raise AnalysisError("the masked-token loss needs at least one masked position")
    where = sorted({check_position(int(t), length) for t in masked})
    pos = torch.tensor(where)
    originals = x[0].cpu()[pos]
    with torch.no_grad():
        if together:
            x_tilde = x.clone()
            x_tilde[0, pos.to(x.device)] = int(mask_id)
            logp = torch.log_softmax(model(x_tilde)[0].float(), dim=-1).cpu()  # (l, N_V)
            losses = -logp[pos, originals]
        else:
            chunks = []
            for lo in range(0, len(where), _BATCH):
                sub = pos[lo:lo + _BATCH]
                copies = x.repeat(len(sub), 1)  # (n, l): copy j masks position sub[j]
                rows = torch.arange(len(sub), device=x.device)
                copies[rows, sub.to(x.device)] = int(mask_id)
                logits = model(copies)[rows, sub.to(x.device)].float()  # (n, N_V)
                logp = torch.log_softmax(logits, dim=-1).cpu()
                chunks.append(-logp[torch.arange(len(sub)), originals[lo:lo + _BATCH]])
            losses = torch.cat(chunks)
    per = torch.full((length,), float("nan"))
    per[pos] = losses
    return TokenLoss("masked", pos, originals, losses, per)
