"""A training snapshot for tests: the same model with other weights (imported by the
state, window and Lens tests of new weights)."""

from __future__ import annotations

import copy

import torch

from explorer.state import LoadedModel


def trained(loaded: LoadedModel, step: int) -> LoadedModel:
    """``loaded``'s model with other weights, as a training snapshot brings them (a fresh
    copy; ``step`` seeds the change)."""
    model = copy.deepcopy(loaded.model)
    torch.manual_seed(step)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return LoadedModel(model, loaded.tokenizer, f"training: step {step}", "training")
