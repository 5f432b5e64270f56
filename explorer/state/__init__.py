"""The session the window shows (model, tokenizer, text, trace, selection), without Qt.

```python
from explorer.state import Session, default_model, run_request
session = Session(default_model("decoder"))
session.trace_changed.connect(lambda: print(session.step.title))
session.set_text("the king sings"); session.record_now()
session.step_by(1); session.next_group(); session.jump_to_layer(2)
```
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from explorer.state import allocator
    from explorer.state.defaults import (
        ARCHS,
        DEFAULT_CONTEXT,
        DEFAULT_SIZES,
        DEFAULT_TEXT,
        LoadedModel,
        bundled_models,
        default_model,
        default_text,
        default_tokenizer,
        find_bundled,
        load_folder,
        random_model,
    )
    from explorer.state.inputs import Chunk, EncodedText, encode_text, input_roles
    from explorer.state.session import Session, TraceRequest, TraceResult, run_request

# The names load when first used (PEP 562): the window imports torch-free modules of this
# package (``scene``, ``inputs``) before its first paint, and ``defaults`` loads torch.
_WHERE = {
    **dict.fromkeys(("ARCHS", "DEFAULT_CONTEXT", "DEFAULT_SIZES", "DEFAULT_TEXT",
                     "LoadedModel", "bundled_models", "default_model", "default_text",
                     "default_tokenizer", "find_bundled", "load_folder", "random_model"),
                    "defaults"),
    **dict.fromkeys(("Chunk", "EncodedText", "encode_text", "input_roles"),
                    "inputs"),
    **dict.fromkeys(("Session", "TraceRequest", "TraceResult", "run_request"), "session"),
}


def __getattr__(name: str):
    if name == "allocator":
        return importlib.import_module("explorer.state.allocator")
    if name not in _WHERE:
        raise AttributeError(f"module 'explorer.state' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"explorer.state.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "allocator",
    "ARCHS",
    "DEFAULT_CONTEXT",
    "DEFAULT_SIZES",
    "DEFAULT_TEXT",
    "default_text",
    "Chunk",
    "EncodedText",
    "LoadedModel",
    "Session",
    "TraceRequest",
    "TraceResult",
    "bundled_models",
    "default_model",
    "default_tokenizer",
    "encode_text",
    "input_roles",
    "find_bundled",
    "load_folder",
    "random_model",
    "run_request",
]
