"""Every intermediate tensor of a forward pass, recorded by name with its meaning.

The names below load when first used (PEP 562): the window imports this package's
torch-free modules (``notation``, ``norm_inside.is_norm_step``) before its first paint;
the rest loads torch.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from explorer.trace.pseudocode import ALGORITHMS, Algorithm
    from explorer.trace.record import Trace, hooks_attached, record
    from explorer.trace.splice import record_edit
    from explorer.trace.steps import Step, describe

_WHERE = {"ALGORITHMS": "pseudocode", "Algorithm": "pseudocode", "Trace": "record",
          "hooks_attached": "record", "record": "record", "record_edit": "splice",
          "Step": "steps", "describe": "steps"}

__all__ = ["ALGORITHMS", "Algorithm", "Step", "Trace", "describe", "hooks_attached", "record",
           "record_edit"]


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'explorer.trace' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"explorer.trace.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """``explorer.trace.record`` is the function, as it always was: loading the submodule
    of the same name does not put the module in its place."""

    def __setattr__(self, name: str, value: object) -> None:
        if name == "record" and isinstance(value, types.ModuleType):
            value = value.record
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
