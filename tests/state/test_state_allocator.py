"""The C allocator's tuning for the window (glibc; elsewhere it says it did nothing)."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from explorer.state import allocator

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"

# Allocate, fill and free a 48 MB tensor (the logits of 256 tokens) 20 times; print the
# page faults it took.
FAULTS = """
import resource, sys, torch
from explorer.state import allocator
if sys.argv[1] == "tuned":
    assert allocator.tune()
torch.empty(1).fill_(0.0)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    torch.empty(12 * 2**20).fill_(1.0)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", FAULTS, mode], capture_output=True,
                         text=True, check=True, timeout=120)
    return int(out.stdout.strip())


@pytest.mark.skipif(not GLIBC, reason="mallopt and malloc_trim are glibc's")
def test_tuned_large_blocks_are_reused_not_mapped_afresh():
    pages = 20 * 48 * 2**20 // 4096
    assert _faults("default") > pages // 2  # each block mapped and touched page by page
    assert _faults("tuned") < pages // 4  # the freed block is taken again
    allocator.trim()  # hands free memory back; must not fail


def test_elsewhere_nothing_is_done(monkeypatch):
    allocator._glibc.cache_clear()
    monkeypatch.setattr(allocator.sys, "platform", "darwin")
    try:
        assert allocator.tune() is False and allocator.trim() is False
    finally:
        allocator._glibc.cache_clear()
