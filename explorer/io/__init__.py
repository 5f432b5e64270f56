"""Checkpoints: our own safetensors folders and Hugging Face model folders.

```python
from explorer.io import open_model, load_pretrained, describe_pretrained, CheckpointError
model, tokenizer, info = open_model(folder)   # ours, a run, GPT-2, OPT, Llama, Qwen2, BERT,
                                              # RoBERTa, DistilBERT, BART, Marian
info["label"]                                 # "name · Llama → DTransformer (Algorithm 10)
                                              #  + 3 extensions"
model, tokenizer = load_pretrained(folder)    # Hugging Face folders only
info = describe_pretrained(folder)            # config.json only, no weights read
enc = encode_text(tokenizer, text, info)      # ids/tokens/offsets with the model's specials
save_model(model, folder); load_model(folder) # our own format (explorer.core)
```
"""

from explorer.core import load_model, save_model
from explorer.io.errors import CheckpointError
from explorer.io.folder_tokenizer import encode_text
from explorer.io.pretrained import (
    FAMILIES,
    describe_pretrained,
    load_pretrained,
    model_label,
    open_model,
)

__all__ = [
    "FAMILIES",
    "CheckpointError",
    "describe_pretrained",
    "encode_text",
    "load_model",
    "load_pretrained",
    "model_label",
    "open_model",
    "save_model",
]
