"""Modular addition, the grokking task (Power et al. 2022; Nanda et al. 2023).

Every pair (a, b) of residues mod p is one example ``a b = c`` with c = (a + b) mod p,
written as four space-separated words: the residues' decimal names and ``=``. A model
reads ``a b =`` and is scored on ``c`` alone (the ``last-token`` task); the training
set is a seeded share of the p² pairs and validation the rest, so the only way to get
validation right is to learn addition mod p, not to remember the table.
"""

from __future__ import annotations

P = 59  # the bundled table's modulus (a prime, so every frequency 1..(p-1)/2 is distinct)
EQUALS = "="


def modular_line(a: int, b: int, p: int = P) -> str:
    """The example ``a b = c`` for residues a, b (ValueError outside 0..p-1)."""
    if not (0 <= a < p and 0 <= b < p):
        raise ValueError(f"residues must be in 0..{p - 1}, not {a} and {b}")
    return f"{a} {b} {EQUALS} {(a + b) % p}"


def modular_lines(p: int = P) -> list[str]:
    """All p² examples, a-major: ``0 0 = 0``, ``0 1 = 1``, ... (the split is the
    trainer's seeded shuffle of them)."""
    if p < 2:
        raise ValueError(f"the modulus must be at least 2, not {p}")
    return [modular_line(a, b, p) for a in range(p) for b in range(p)]

