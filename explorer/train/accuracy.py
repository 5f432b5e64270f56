"""Accuracy on the answer token (the ``last-token`` task): the grokking curves.

Reported with each validation (``train_accuracy`` and ``val_accuracy`` in the step
results and ``metrics.jsonl``): the share of all training examples and of all
validation examples whose last token is the model's most likely prediction. Training
accuracy reaching 100% long before validation accuracy is grokking (Power et al. 2022).
"""

from __future__ import annotations

import torch

from explorer.train.objectives import Batch, answer_input, answer_logits

CHUNK = 4096  # examples per forward pass


def answer_accuracy(model: torch.nn.Module, x_all: torch.Tensor, x_len: torch.Tensor,
                    idx: torch.Tensor, device: torch.device) -> float:
    """The share of the examples ``idx`` (rows of the padded ``x_all`` of lengths
    ``x_len``) whose last token is the model's argmax prediction."""
    if idx.numel() == 0:
        return float("nan")
    right = 0
    for start in range(0, idx.numel(), CHUNK):
        rows = idx[start:start + CHUNK]
        lengths = x_len[rows]
        width = int(lengths.max())
        x = x_all[rows, :width].to(device)
        x_mask = None
        if bool((lengths < width).any()):
            x_mask = (torch.arange(width)[None, :] < lengths[:, None]).to(device)
        batch = Batch(x, x_mask)
        pred, target = answer_logits(model(*answer_input(batch)), x, x_mask)
        right += int((pred.argmax(dim=-1) == target).sum())
    return right / idx.numel()


def split_accuracies(trainer) -> dict[str, float]:
    """{"train_accuracy", "val_accuracy"} of a last-token run (model left in its mode);
    {} for the other tasks."""
    data = trainer.data
    if trainer.config.task != "last-token":
        return {}
    model = trainer.model
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return {name: answer_accuracy(model, data.x_all, data.x_len, idx, trainer.device)
                    for name, idx in (("train_accuracy", data.train_idx),
                                      ("val_accuracy", data.val_idx))}
    finally:
        model.train(was_training)
