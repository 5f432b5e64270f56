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

_walks: weakref.WeakKeyDictionary[nn.Module, tuple[tuple[int, ...], list]] = \
    weakref.WeakKeyDictionary()
_holders: weakref.WeakKeyDictionary[nn.Module, tuple[list, list]] = \
    weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _children(walk: list[tuple[str, nn.Module]]) -> tuple[int, ...]:
    # The kept walk holds every module it lists, so no listed id can be reused by another
    # object while the walk is kept.
    return tuple(id(child) for _, module in walk for child in module._modules.values())


def modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``list(model.named_modules())``, reused while the tree is unchanged (read only)."""
    with _lock:
        kept = _walks.get(model)
    if kept is not None and kept[0] == _children(kept[1]):
        return kept[1]
    walk = list(model.named_modules())
    with _lock:
        _walks[model] = (_children(walk), walk)
    return walk


def weight_tensors(model: nn.Module) -> list[torch.Tensor]:
    """Every parameter and buffer of ``model`` (a tied one may appear twice)."""
    walk = modules(model)
    with _lock:
        kept = _holders.get(model)
    if kept is None or kept[0] is not walk:  # the modules that hold any (read afresh)
        kept = (walk, [(m._parameters, m._buffers) for _, m in walk
                       if m._parameters or m._buffers])
        with _lock:
            _holders[model] = kept
    return [t for held in kept[1] for d in held for t in d.values() if t is not None]
