"""How a token piece is written on screen, and how many are drawn at most."""

from __future__ import annotations

MAX_SHOWN_TOKENS = 1500


def visible(s: str) -> str:
    """Whitespace made visible: · for a space, ⏎ for a newline, → for a tab."""
    return s.replace(" ", "·").replace("\n", "⏎").replace("\t", "→").replace("\r", "␍")
