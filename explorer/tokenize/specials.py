"""Special tokens: their names, the strings we use, and how real tokenizers spell them."""

from __future__ import annotations

# The order they take at the END of a vocabulary we train ourselves: the paper puts
# mask_token, bos_token and eos_token last (N_V-3, N_V-2, N_V-1 in 0-based ids).
SPECIAL_ORDER = ("pad", "unk", "cls", "sep", "mask", "bos", "eos")
OUR_STRINGS = {name: f"<{name}>" for name in SPECIAL_ORDER}

# How real tokenizers spell them (GPT-2, BERT, BART/RoBERTa, Marian/T5 ...).
KNOWN_STRINGS = {
    "pad": ("<pad>", "[PAD]", "<|pad|>"),
    "unk": ("<unk>", "[UNK]", "<|unk|>"),
    "cls": ("<cls>", "[CLS]"),
    "sep": ("<sep>", "[SEP]"),
    "mask": ("<mask>", "[MASK]"),
    "bos": ("<bos>", "<s>", "<|endoftext|>", "<|startoftext|>"),
    "eos": ("<eos>", "</s>", "<|endoftext|>"),
}


def find_special_ids(token_to_id) -> dict[str, int]:
    """name -> id for each special token a vocabulary has (``token_to_id(str) -> int|None``)."""
    found: dict[str, int] = {}
    for name, spellings in KNOWN_STRINGS.items():
        for s in spellings:
            i = token_to_id(s)
            if i is not None:
                found[name] = int(i)
                break
    return found
