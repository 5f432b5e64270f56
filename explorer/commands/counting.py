"""How the command line counts: layers and heads from 1, as the paper does.

The paper loops ``for l = 1, …, L`` and over heads ``h ∈ [H]``; every flag a person types
and every table and JSON field the commands print count layers and heads the same way
(``--head 1.2`` is the first layer's second head; ``"layer": 1`` the first layer). The
Python API and trace step names count from 0, like PyTorch module paths: ``blocks.0.attn``
is layer 1. Positions are indices into the token sequence, counted from 0 Python-style
(−1 is the last).
"""

from __future__ import annotations

RULE = "layers and heads count from 1, as in the paper: --head 1.2 is layer 1, head 2"
HELP_NOTE = ("Layers and heads count from 1, as in the paper (--head 1.2 is layer 1, head 2; "
             "\"layer\": 1 in JSON is the first layer); trace step names count from 0 "
             "(blocks.0 is layer 1); positions count from 0, negative ones from the end.")


def counted_from_1(number: int, flag: str) -> int:
    """``number`` as typed after ``flag`` (a layer or a head, 1 … ), refused below 1 with a
    ValueError naming the rule."""
    if number < 1:
        raise ValueError(f"{flag} {number}: {RULE}")
    return number


def layer_head(value: str, flag: str = "--head") -> tuple[int, int]:
    """``LAYER.HEAD`` as typed, both from 1 (``1.2``); ValueError naming the rule."""
    layer, dot, head = value.partition(".")
    if not dot or not layer.strip().isdigit() or not head.strip().isdigit():
        raise ValueError(f"{flag} {value}: write LAYER.HEAD like 1.2 ({RULE})")
    if int(layer) < 1 or int(head) < 1:
        raise ValueError(f"{flag} {value}: {RULE}")
    return int(layer), int(head)


def check_layer(number: int, n_layers: int, flag: str) -> int:
    """The 0-based index of layer ``number`` (1-based, as typed); ValueError naming the
    model's layers when it has no such layer."""
    if not 1 <= number <= n_layers:
        raise ValueError(f"{flag}: the model has no layer {number}; its layers are 1 to "
                         f"{n_layers}")
    return number - 1


def check_head(number: int, n_heads: int, flag: str) -> int:
    """The 0-based index of head ``number`` (1-based, as typed)."""
    if not 1 <= number <= n_heads:
        raise ValueError(f"{flag}: the layer has no head {number}; its heads are 1 to "
                         f"{n_heads}")
    return number - 1
