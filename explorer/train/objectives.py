"""Algorithms 11-13 and classification: the losses the paper trains with.

Each function returns the mean over the predicted tokens (or sequences) of the
paper's per-token term; multiplying by the count returned alongside gives the
paper's sum. The tasks:

- ``next-token``  Algorithm 13, DTraining: loss = -Σ_{t=1}^{l-1} log P[x[t+1], t]
  (no loss on the last position: nothing follows it).
- ``masked``      Algorithm 12, ETraining: each position becomes mask_token with
  probability p_mask; loss = -Σ_{t ∈ T̃} log P[x[t], t] over the masked positions only.
- ``seq2seq``     Algorithm 11, EDTraining: loss = -Σ_{t=1}^{l-1} log P[x[t+1], t]
  where P = EDTransformer(z, x): the decoder's next-token loss given the context z.
- ``classify``    -log P(c | x) with the encoder's class head.
- ``last-token``  Algorithm 13's term at each sequence's last token only:
  loss = -log P[x[l], l-1], for a prompt and its one-token answer (``a b = c``, grokking).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

TASKS = ("next-token", "masked", "seq2seq", "classify", "last-token")
TASK_ARCH = {
    "next-token": "decoder",
    "masked": "encoder",
    "seq2seq": "encoder-decoder",
    "classify": "encoder",
    "last-token": "decoder",
}


@dataclass
class Batch:
    """One minibatch on its device. ``x_mask``/``z_mask`` are True for real tokens."""

    x: torch.Tensor  # (B, l_x) token ids
    x_mask: torch.Tensor | None = None  # (B, l_x) bool
    z: torch.Tensor | None = None  # (B, l_z) context ids (seq2seq)
    z_mask: torch.Tensor | None = None
    labels: torch.Tensor | None = None  # (B,) class indices (classify)
    n_tokens: int = 0  # tokens the model reads (for tokens/s)

    def to(self, device: torch.device) -> Batch:
        def move(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.to(device, non_blocking=True)

        return Batch(
            move(self.x), move(self.x_mask), move(self.z), move(self.z_mask),
            move(self.labels), self.n_tokens,
        )


def next_token_loss(
    logits: torch.Tensor, x: torch.Tensor, x_mask: torch.Tensor | None = None
) -> tuple[torch.Tensor, int]:
    """Algorithm 13, DTraining: mean of -log P[x[t+1], t] over t = 1..l-1.

    logits (B, l, N_V) from DTransformer(x); the last position predicts nothing.
    With ``x_mask``, targets that are padding are left out. Returns (mean, count).
    """
    pred = logits[:, :-1]  # (B, l-1, N_V): P[:, t] for t = 1..l-1
    target = x[:, 1:]  # (B, l-1): x[t+1]
    if x_mask is None:
        loss = F.cross_entropy(pred.reshape(-1, pred.shape[-1]).float(), target.reshape(-1))
        return loss, target.numel()
    keep = x_mask[:, 1:]
    loss = F.cross_entropy(pred[keep].float(), target[keep])
    return loss, int(keep.sum())


def mask_tokens(
    x: torch.Tensor,
    mask_id: int,
    p_mask: float,
    generator: torch.Generator | None = None,
    maskable: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Algorithm 12, lines 3-4: replace each position by mask_token with probability p_mask.

    Returns (x̃, T̃) with T̃ (B, l) bool, True at masked positions. ``maskable`` (B, l)
    excludes positions (padding, cls). A sequence that drew no mask gets one at a random
    maskable position, so every sequence contributes to the loss.
    """
    if not 0.0 < p_mask <= 1.0:
        raise ValueError(f"p_mask must be in (0, 1], not {p_mask}")
    u = torch.rand(x.shape, generator=generator, device=generator.device if generator else None)
    u = u.to(x.device)
    allowed = torch.ones_like(x, dtype=torch.bool) if maskable is None else maskable.bool()
    masked = (u < p_mask) & allowed
    empty = ~masked.any(dim=1) & allowed.any(dim=1)  # (B,), computed without a device sync
    pick = torch.where(allowed, u, torch.full_like(u, 2.0)).argmin(dim=1)  # (B,)
    masked = masked | (F.one_hot(pick, x.shape[1]).bool() & empty[:, None])
    return x.masked_fill(masked, mask_id), masked


def masked_token_loss(
    logits: torch.Tensor, x: torch.Tensor, masked: torch.Tensor
) -> tuple[torch.Tensor, int]:
    """Algorithm 12, ETraining: mean of -log P[x[t], t] over the masked positions T̃ only.

    logits (B, l, N_V) from ETransformer(x̃); x the original tokens; masked = T̃.
    """
    loss = F.cross_entropy(logits[masked].float(), x[masked])
    return loss, int(masked.sum())


def seq2seq_loss(
    logits: torch.Tensor, x: torch.Tensor, x_mask: torch.Tensor | None = None
) -> tuple[torch.Tensor, int]:
    """Algorithm 11, EDTraining: mean of -log P[x[t+1], t], P = EDTransformer(z, x).

    The same next-token term as Algorithm 13, on the decoder's output given z.
    """
    return next_token_loss(logits, x, x_mask)


def classification_loss(
    class_logits: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, int]:
    """Classification: mean of -log P(c_n | x_n), class_logits (B, N_C), labels (B,)."""
    return F.cross_entropy(class_logits.float(), labels), int(labels.shape[0])


def answer_input(batch: Batch) -> tuple[torch.Tensor, torch.Tensor | None]:
    """What the model reads for the last-token task: each sequence without its final
    position (x[1..w-1] of width w and its mask): nothing is predicted from x[w]."""
    x_mask = None if batch.x_mask is None else batch.x_mask[:, :-1]
    return batch.x[:, :-1], x_mask


def answer_logits(
    logits: torch.Tensor, x: torch.Tensor, x_mask: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(P[:, l-1] (B, N_V), x[l] (B,)): each sequence's prediction of its last token x[l]
    (l: its length without padding) and that token. ``logits`` (B, w-1, N_V) from the
    model reading ``answer_input``; x (B, w) and x_mask (B, w) the whole sequences."""
    last = (torch.full((x.shape[0],), x.shape[1], device=x.device) if x_mask is None
            else x_mask.sum(dim=1)) - 1  # (B,) index of x[l]
    rows = torch.arange(x.shape[0], device=x.device)
    return logits[rows, last - 1], x[rows, last]


def last_token_loss(
    logits: torch.Tensor, x: torch.Tensor, x_mask: torch.Tensor | None = None
) -> tuple[torch.Tensor, int]:
    """Algorithm 13's term on the last token only: mean of -log P[x[l], l-1]."""
    pred, target = answer_logits(logits, x, x_mask)
    return F.cross_entropy(pred.float(), target), int(target.shape[0])


def batch_loss(
    model: torch.nn.Module,
    batch: Batch,
    task: str,
    mask_id: int | None = None,
    p_mask: float = 0.15,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The task's loss on one minibatch (a scalar tensor; nothing is synchronised)."""
    if task == "next-token":
        return next_token_loss(model(batch.x, batch.x_mask), batch.x, batch.x_mask)[0]
    if task == "masked":
        if mask_id is None:
            raise ValueError("the masked-token task needs a tokenizer with a mask token")
        maskable = batch.x_mask
        x_tilde, masked = mask_tokens(batch.x, mask_id, p_mask, generator, maskable)
        return masked_token_loss(model(x_tilde, batch.x_mask), batch.x, masked)[0]
    if task == "seq2seq":
        logits = model(batch.z, batch.x, batch.z_mask, batch.x_mask)
        return seq2seq_loss(logits, batch.x, batch.x_mask)[0]
    if task == "classify":
        return classification_loss(model.classify(batch.x, batch.x_mask), batch.labels)[0]
    if task == "last-token":
        return last_token_loss(model(*answer_input(batch)), batch.x, batch.x_mask)[0]
    raise ValueError(f"unknown task {task!r}: use one of {', '.join(TASKS)}")
