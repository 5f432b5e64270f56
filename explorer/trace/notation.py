"""The paper's notation, typeset: the project's formula strings as rich text (HTML).

Formulas, titles, shapes and pseudocode lines are written in a light markup:
``W_q^h X̃ + b_q^h 1ᵀ``, ``ℝ^{d_attn×ℓ_x}``, ``γ_l¹``, ``p^(1/τ)``. ``to_html`` turns
them into what the paper prints: true subscripts and superscripts (``_x``, ``^x``, a
braced or parenthesised group, nested), single-letter variables in italics (X, W, t, ℓ
is already a symbol), everything else as written and HTML-escaped.

An underscore joins a subscript only to a one-letter base (``W_q``, ``d_attn``,
``ℓ_max``, ``x̃_n``); between two words it is part of a name and stays
(``layer_norm``, ``bos_token``). Qt's rich text (labels, tooltips, list delegates,
exports) shows the result.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata

SUPERSCRIPT_CHARS = "⁰¹²³⁴⁵⁶⁷⁸⁹ᵀ′"  # already raised: never part of a sub/superscript run
LATIN = re.compile(r"[A-Za-z]")
NAME_PART = re.compile(r"[A-Za-z\u0370-\u03ff]")  # letters that make a word with a neighbour


def _is_mark(c: str) -> bool:
    return unicodedata.category(c) in ("Mn", "Me")


def _run_char(c: str) -> bool:
    """A character of an unbraced sub/superscript: a letter or digit (ℓ, Greek too)."""
    return (c.isalnum() and c not in SUPERSCRIPT_CHARS) or _is_mark(c)


def _base_is_one_letter(s: str, i: int) -> bool:
    """Is the symbol before position ``i`` (an underscore) one letter, not a word's end?"""
    j = i - 1
    while j >= 0 and _is_mark(s[j]):
        j -= 1
    if j < 0 or not (s[j].isalpha() or s[j] in "}"):
        return False
    if s[j] == "}":
        return True
    k = j - 1
    while k >= 0 and _is_mark(s[k]):
        k -= 1
    return k < 0 or not NAME_PART.match(s[k])


def _group(s: str, i: int) -> tuple[str, int] | None:
    """The sub/superscript starting at ``i``: (its text, the index after it), or None."""
    if i >= len(s):
        return None
    if s[i] in "{(":
        close = "}" if s[i] == "{" else ")"
        depth, j = 0, i
        while j < len(s):
            if s[j] == s[i]:
                depth += 1
            elif s[j] == close:
                depth -= 1
                if depth == 0:
                    return s[i + 1:j], j + 1
            j += 1
        return None  # unbalanced: not markup
    j = i
    while j < len(s) and _run_char(s[j]):
        j += 1
        if j < len(s) - 1 and s[j] == "/" and _run_char(s[j + 1]):  # W_l^e/d
            j += 1
    return (s[i:j], j) if j > i else None


def _italic(s: str, i: int) -> int:
    """Length of a one-letter variable at ``i`` (its combining marks included), else 0."""
    c = s[i]
    if not LATIN.match(c):
        return 0
    j = i + 1
    while j < len(s) and _is_mark(s[j]):
        j += 1
    before = s[i - 1] if i > 0 else " "
    after = s[j] if j < len(s) else " "
    if NAME_PART.match(before) or NAME_PART.match(after) or before == "_" and i >= 2 and \
            NAME_PART.match(s[i - 2]):
        return 0
    if c == "a" and after == " ":  # the article: "a token", "a dog"
        return 0
    return j - i


def _convert(s: str, parts: list[str]) -> None:
    i = 0
    while i < len(s):
        c = s[i]
        if c in "_^" and (c == "^" or _base_is_one_letter(s, i)):
            found = _group(s, i + 1)
            if found is not None:
                inner, i = found
                tag = "sub" if c == "_" else "sup"
                parts.append(f"<{tag}>")
                _convert(inner, parts)
                parts.append(f"</{tag}>")
                continue
        n = _italic(s, i)
        if n:
            parts.append(f"<i>{html.escape(s[i:i + n])}</i>")
            i += n
            continue
        parts.append(html.escape(c, quote=False))
        i += 1


@functools.lru_cache(maxsize=4096)
def to_html(text: str) -> str:
    """``text`` in the project's formula markup as rich text (see the module docstring).
    Kept for the texts seen last: the views typeset the same titles on every keystroke."""
    parts: list[str] = []
    _convert(text, parts)
    return "".join(parts)
