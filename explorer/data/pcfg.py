"""A small probabilistic context-free grammar: sampling, exact entropy, parsing.

The grammars bundled here are *acyclic* (no nonterminal can derive itself), so
their languages are finite and every expectation can be computed exactly by
memoised recursion over the rule table:

- ``H(A) = sum_r p_r * (-log p_r + sum_{B in rhs_r} H(B))`` is the entropy of the
  derivations of ``A``. For an *unambiguous* grammar (one derivation per string)
  it is also the entropy of the strings, which is what a language model's loss
  is compared with.
- ``E_A[f] = sum_r p_r * sum_{B in rhs_r} E_B[f]`` is the expected total of a
  per-terminal cost ``f`` (1 per word, or the word's length plus one separator).

The parser is a memoised top-down chart over (symbol, position) that returns,
for every end position, the number of derivations and their total probability,
so it both recognises a sentence and checks that its derivation is unique.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

Rules = Mapping[str, Sequence[tuple[float, tuple[str, ...]]]]
Chart = dict[int, tuple[int, float]]


@dataclass(frozen=True)
class Derivation:
    """One sampled sentence: its tokens and the log-probability of its derivation."""

    tokens: tuple[str, ...]
    log_prob: float  # natural log

    @property
    def text(self) -> str:
        """The tokens joined by single spaces."""
        return " ".join(self.tokens)


class PCFG:
    """An acyclic probabilistic context-free grammar over word tokens.

    ``rules`` maps each nonterminal to its alternatives ``(probability, rhs)``;
    any symbol that is not a key of ``rules`` is a terminal (a word). The
    probabilities of each nonterminal's alternatives must sum to one.
    """

    def __init__(self, rules: Rules, start: str) -> None:
        self.rules: dict[str, tuple[tuple[float, tuple[str, ...]], ...]] = {
            lhs: tuple((float(p), tuple(rhs)) for p, rhs in alts) for lhs, alts in rules.items()
        }
        self.start = start
        self._check()
        self._cumulative = {
            lhs: list(_accumulate([p for p, _ in alts])) for lhs, alts in self.rules.items()
        }
        self._entropy: dict[str, float] = {}

    # ------------------------------------------------------------------ checks
    def _check(self) -> None:
        if self.start not in self.rules:
            raise ValueError(f"start symbol {self.start!r} has no rules")
        for lhs, alts in self.rules.items():
            if not alts:
                raise ValueError(f"{lhs!r} has no alternatives")
            total = sum(p for p, _ in alts)
            if abs(total - 1.0) > 1e-9:
                raise ValueError(f"the probabilities of {lhs!r} sum to {total}, not 1")
            if any(p <= 0 for p, _ in alts):
                raise ValueError(f"{lhs!r} has an alternative with probability <= 0")
        order: list[str] = []
        state: dict[str, int] = {}

        def visit(sym: str, path: tuple[str, ...]) -> None:
            if state.get(sym) == 2 or sym not in self.rules:
                return
            if state.get(sym) == 1:
                raise ValueError(f"the grammar is recursive: {' -> '.join(path + (sym,))}")
            state[sym] = 1
            for _, rhs in self.rules[sym]:
                for child in rhs:
                    visit(child, path + (sym,))
            state[sym] = 2
            order.append(sym)

        visit(self.start, ())
        self.nonterminals: tuple[str, ...] = tuple(order)  # children before parents

    def terminals(self) -> list[str]:
        """Every word the grammar can produce, in first-appearance order."""
        seen: dict[str, None] = {}
        for alts in self.rules.values():
            for _, rhs in alts:
                for sym in rhs:
                    if sym not in self.rules:
                        seen.setdefault(sym, None)
        return list(seen)

    # ---------------------------------------------------------------- sampling
    def sample(self, rng: random.Random, symbol: str | None = None) -> Derivation:
        """Draw one derivation top-down with ``rng`` (one ``rng.random()`` per choice)."""
        tokens: list[str] = []
        log_prob = 0.0
        stack = [symbol or self.start]
        while stack:
            sym = stack.pop()
            alts = self.rules.get(sym)
            if alts is None:
                tokens.append(sym)
                continue
            i = _pick(self._cumulative[sym], rng.random())
            p, rhs = alts[i]
            log_prob += math.log(p)
            stack.extend(reversed(rhs))
        return Derivation(tuple(tokens), log_prob)

    # ------------------------------------------------------------- expectations
    def entropy(self, symbol: str | None = None) -> float:
        """Exact entropy (nats) of the derivations of ``symbol`` (default: the start)."""
        if not self._entropy:
            for lhs in self.nonterminals:
                self._entropy[lhs] = sum(
                    p * (-math.log(p) + sum(self._entropy.get(s, 0.0) for s in rhs))
                    for p, rhs in self.rules[lhs]
                )
        return self._entropy[symbol or self.start]

    def expected(self, cost: Callable[[str], float], symbol: str | None = None) -> float:
        """Exact expected total of ``cost(word)`` over the words of one derivation."""
        values: dict[str, float] = {}
        for lhs in self.nonterminals:
            values[lhs] = sum(
                p * sum(values[s] if s in self.rules else cost(s) for s in rhs)
                for p, rhs in self.rules[lhs]
            )
        return values[symbol or self.start]

    # ------------------------------------------------------------------ parsing
    def parse(self, tokens: Sequence[str]) -> tuple[int, float]:
        """``(number of derivations, total probability)`` of exactly ``tokens``."""
        tokens = tuple(tokens)
        memo: dict[tuple[str, int], Chart] = {}
        chart = self._spans(self.start, 0, tokens, memo)
        return chart.get(len(tokens), (0, 0.0))

    def _spans(
        self, sym: str, i: int, tokens: tuple[str, ...], memo: dict[tuple[str, int], Chart]
    ) -> Chart:
        if sym not in self.rules:
            return {i + 1: (1, 1.0)} if i < len(tokens) and tokens[i] == sym else {}
        key = (sym, i)
        if key in memo:
            return memo[key]
        out: Chart = {}
        for p, rhs in self.rules[sym]:
            current: Chart = {i: (1, p)}
            for child in rhs:
                step: Chart = {}
                for k, (count, prob) in current.items():
                    for j, (c2, p2) in self._spans(child, k, tokens, memo).items():
                        c0, p0 = step.get(j, (0, 0.0))
                        step[j] = (c0 + count * c2, p0 + prob * p2)
                current = step
                if not current:
                    break
            for j, (count, prob) in current.items():
                c0, p0 = out.get(j, (0, 0.0))
                out[j] = (c0 + count, p0 + prob)
        memo[key] = out
        return out

    def derivations(self, symbol: str | None = None) -> list[Derivation]:
        """Every derivation of ``symbol`` (only sensible for small grammars)."""
        alts = self.rules.get(symbol or self.start)
        if alts is None:
            return [Derivation((symbol or self.start,), 0.0)]
        out: list[Derivation] = []
        for p, rhs in alts:
            partial = [Derivation((), math.log(p))]
            for child in rhs:
                expansions = self.derivations(child)
                partial = [
                    Derivation(a.tokens + b.tokens, a.log_prob + b.log_prob)
                    for a in partial
                    for b in expansions
                ]
            out.extend(partial)
        return out


def _accumulate(probs: Sequence[float]) -> list[float]:
    total, out = 0.0, []
    for p in probs:
        total += p
        out.append(total)
    out[-1] = float("inf")  # rounding can never fall past the last alternative
    return out


def _pick(cumulative: Sequence[float], u: float) -> int:
    for i, c in enumerate(cumulative):
        if u < c:
            return i
    return len(cumulative) - 1
