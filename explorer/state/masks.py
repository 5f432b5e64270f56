"""The masks side by side (issue 30 §3): the bidirectional mask of Algorithm 9, the
unidirectional mask of Algorithm 10 (and of Algorithm 8's decoder), and the cross mask of
Algorithm 8, on the same tokens, as Mask[t_z, t_x] (rows t_z, the tokens attended to;
columns t_x, the tokens attending). Qt-free.

```python
for m in masks_of(tokens_x, tokens_z): print(m.title, m.allowed.shape)
explain(m, t_z, t_x)  # what the cell (t_z, t_x) means, in words
```
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

KINDS = ("bidirectional", "unidirectional", "cross")


@dataclass(frozen=True)
class MaskData:
    """One mask: ``allowed[t_z, t_x]`` (ℓ_z × ℓ_x, True: t_x may attend to t_z)."""

    kind: str
    title: str
    rule: str  # the paper's Mask, in its notation
    allowed: np.ndarray
    z_labels: tuple[str, ...]  # the rows' tokens (attended to)
    x_labels: tuple[str, ...]  # the columns' tokens (attending)


def masks_of(x: Sequence[str], z: Sequence[str] | None = None) -> list[MaskData]:
    """The three masks on the tokens ``x`` (and the context ``z`` the cross mask's rows
    are; default: ``x`` again)."""
    x, z = tuple(x), tuple(z if z else x)
    n, m = len(x), len(z)
    tz, tx = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    return [
        MaskData("bidirectional", "Bidirectional · encoder (Alg 9)", "Mask ≡ 1",
                 np.ones((n, n), bool), x, x),
        MaskData("unidirectional", "Unidirectional · decoder (Alg 10)",
                 "Mask[t_z, t_x] = [t_z ≤ t_x]", tz <= tx, x, x),
        MaskData("cross", "Cross · encoder–decoder (Alg 8)", "Mask ≡ 1 (x attends to z)",
                 np.ones((m, n), bool), z, x),
    ]


def explain(mask: MaskData, t_z: int, t_x: int) -> str:
    """What cell (t_z, t_x) of ``mask`` says (0-based; counted from 1 in the sentence)."""
    a, b = mask.x_labels[t_x], mask.z_labels[t_z]
    where = f"t_z = {t_z + 1} '{b}', t_x = {t_x + 1} '{a}': "
    if mask.kind == "unidirectional":
        if mask.allowed[t_z, t_x]:
            return (where + f"t_z ≤ t_x: '{a}' may attend to '{b}' (a token may attend only "
                    "to earlier ones and itself)")
        return (where + f"t_z > t_x: masked (−∞ before the softmax): '{a}' may not see the "
                f"later '{b}' (a token may attend only to earlier ones)")
    if mask.kind == "cross":
        return (where + f"Mask ≡ 1: the decoder's '{a}' attends to the encoder's '{b}' "
                "(every token of x sees every token of the context z)")
    return (where + f"Mask ≡ 1: '{a}' attends to '{b}' (every token sees every token, "
            "earlier and later)")
