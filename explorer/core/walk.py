"""A model's module tree, walked once and reused while it stays the same.

Recording a trace asks for every hook point, parameter and buffer (``hook_points``,
``weights_key``, ``live_storages``); ``nn.Module.named_modules`` walks the tree each
time, ~5 ms per walk for a 12-layer model, three walks per keystroke. ``modules(model)``
keeps the walk and checks, with one pass over the list it kept, that no child has been
added, removed or replaced since (a replaced parameter or buffer is read afresh from its
module's own dictionary each time, so that needs no check).
"""

from __future__ import annotations

import threading
import weakref

import torch
from torch import nn

# Kept per model, weakly: a kept value must not refer to its model (the walk's first entry,
# ``("", model)``, is left out), or no model that was ever walked would be freed.
_walks: weakref.WeakKeyDictionary[nn.Module, tuple[tuple[int, ...], list]] = \
    weakref.WeakKeyDictionary()
_holders: weakref.WeakKeyDictionary[nn.Module, tuple[list, list]] = \
    weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _children(model: nn.Module, below: list[tuple[str, nn.Module]]) -> tuple[int, ...]:
    # The kept walk holds every module it lists, so no listed id can be reused by another
    # object while the walk is kept.
    return tuple(id(child) for module in (model, *(m for _, m in below))
                 for child in module._modules.values())


def _below(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``named_modules()`` without the model itself, kept while the tree is unchanged."""
    with _lock:
        kept = _walks.get(model)
    if kept is not None and kept[0] == _children(model, kept[1]):
        return kept[1]
    below = list(model.named_modules())[1:]
    with _lock:
        _walks[model] = (_children(model, below), below)
    return below


def modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``list(model.named_modules())``, from a walk reused while the tree is unchanged."""
    return [("", model), *_below(model)]


def weight_tensors(model: nn.Module) -> list[torch.Tensor]:
    """Every parameter and buffer of ``model`` (a tied one may appear twice)."""
    below = _below(model)
    with _lock:
        kept = _holders.get(model)
    if kept is None or kept[0] is not below:  # the modules that hold any (read afresh)
        kept = (below, [(m._parameters, m._buffers) for m in (model, *(m for _, m in below))
                        if m._parameters or m._buffers])
        with _lock:
            _holders[model] = kept
    return [t for held in kept[1] for d in held for t in d.values() if t is not None]
