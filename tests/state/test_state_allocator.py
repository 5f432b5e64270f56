"""The C allocator's tuning for the window (glibc; elsewhere it says it did nothing)."""

from __future__ import annotations

import ctypes
import platform
import subprocess
import sys

import pytest

from explorer.state import allocator

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"

# Allocate and fill a 48 MB tensor (the logits of 256 tokens), then free it; print where
# glibc took it from (mallinfo2: bytes mapped on their own, free bytes kept in the heap).
HEAP = """
import ctypes, sys, torch
from explorer.state import allocator
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks",
                "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Info
if sys.argv[1] == "tuned":
    assert allocator.tune()
torch.empty(1).fill_(0.0)
before = libc.mallinfo2().hblkhd
t = torch.empty(12 * 2**20).fill_(1.0)
mapped = libc.mallinfo2().hblkhd - before
del t
print(mapped, libc.mallinfo2().fordblks)
"""
BLOCK = 48 * 2**20


def _heap(mode: str) -> tuple[int, int]:
    out = subprocess.run([sys.executable, "-c", HEAP, mode], capture_output=True,
                         text=True, check=True, timeout=120)
    mapped, free = out.stdout.split()
    return int(mapped), int(free)


def _has_mallinfo2() -> bool:
    try:
        return hasattr(ctypes.CDLL("libc.so.6"), "mallinfo2")
    except OSError:
        return False


@pytest.mark.skipif(not GLIBC or not _has_mallinfo2(),
                    reason="mallopt, mallinfo2 and malloc_trim are glibc's (2.33+)")
def test_tuned_large_blocks_come_from_the_heap_and_stay_for_reuse():
    """By default glibc maps a 48 MB block on its own and unmaps it when freed (every
    keystroke on a GPT-2-sized model then touches fresh pages); tuned, the block comes
    from the heap and its memory stays there, free for the next keystroke."""
    mapped, free = _heap("default")
    assert mapped >= BLOCK and free < BLOCK
    mapped, free = _heap("tuned")
    assert mapped < BLOCK and free >= BLOCK
    allocator.trim()  # hands free memory back; must not fail


def test_elsewhere_nothing_is_done(monkeypatch):
    allocator._glibc.cache_clear()
    monkeypatch.setattr(allocator.sys, "platform", "darwin")
    try:
        assert allocator.tune() is False and allocator.trim() is False
    finally:
        allocator._glibc.cache_clear()
