"""A work-around for PySide6 6.12 on Python 3.11 that every window needs.

Each call of a Qt method returning void drops one reference to ``None`` without taking
it; a long session (thousands of calls a second while typing, stepping or training)
would end in "Fatal Python error: none_dealloc". Python 3.12 makes ``None`` immortal
(PEP 683); on 3.11 we give it the same effectively endless reference count, once per
process. Harmless where the bug is absent.
"""

from __future__ import annotations

import ctypes
import sys


def keep_none_alive() -> None:
    if sys.version_info < (3, 12) and sys.getrefcount(None) < 1 << 40:
        ctypes.c_ssize_t.from_address(id(None)).value += 1 << 40
