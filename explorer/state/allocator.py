"""The C allocator, tuned for a process that people interact with (glibc; elsewhere
these do nothing).

By default glibc gives every allocation of more than a few hundred kilobytes its own
``mmap`` and hands it back to the system when freed. A keystroke on a GPT-2-sized model
allocates and frees ~100 MB of such blocks (the new keys and values of every layer, the
joined logits), so each one was first touched page by page, page faults that cost more
than the arithmetic (measured: recording one new token at 256 tokens, 74 ms by default,
53 ms tuned; ``bench ui``). ``tune()`` keeps blocks up to ``MMAP_THRESHOLD`` in the heap,
where freed memory is reused; ``trim()`` hands the unused part back once the user pauses,
so the process does not keep its high-water mark.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import platform
import sys

M_TRIM_THRESHOLD = -1  # mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 256 * 2**20  # blocks smaller than this come from the heap
TRIM_THRESHOLD = 512 * 2**20  # free memory kept at the top of the heap between trims


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def tune() -> bool:
    """Keep large blocks in the heap for reuse (True if the allocator took it)."""
    libc = _glibc()
    if libc is None:
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and \
        bool(libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def trim() -> bool:
    """Give freed heap memory back to the system (True if some was)."""
    libc = _glibc()
    return bool(libc.malloc_trim(0)) if libc is not None else False
