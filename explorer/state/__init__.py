"""The session the window shows (model, tokenizer, text, trace, selection), without Qt.

```python
from explorer.state import Session, default_model, run_request
session = Session(default_model("decoder"))
session.trace_changed.connect(lambda: print(session.step.title))
session.set_text("the king sings"); session.record_now()
session.step_by(1); session.next_group(); session.jump_to_layer(2)
```
"""

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
from explorer.state.inputs import Chunk, EncodedText, encode_text, input_roles, token_label
from explorer.state.session import Session, TraceRequest, TraceResult, run_request

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
    "token_label",
]
