"""Whether a model fits in memory, judged from its ModelConfig before anything is allocated.

``estimate_model(cfg)`` counts the parameters on PyTorch's "meta" device (shapes only, no
memory) with one and two layers per stack and extrapolates, so even a config with 10,000
layers is counted in milliseconds. ``check_model_fits(cfg)`` raises ``ModelTooLarge`` (a
ValueError with the sizes in its message) when the weights (or, with ``training=True``,
weights + gradients + two AdamW moments) would not fit in the memory available now.
``build_model`` does not call it (the core reads nothing of the host): the callers that
load or create a model from a config a person chose do, before anything is allocated:
``explorer.io.open_model``, ``explorer.train`` (new runs and resumed ones) and the window's
New model dialog.
"""

from __future__ import annotations

import functools
import os
import sys
from dataclasses import dataclass

import torch
from torch.overrides import TorchFunctionMode

from explorer.core.config import ModelConfig

BYTES_PER_PARAMETER = 4  # float32
TRAINING_COPIES = 4  # weights, gradients, AdamW's two moments
HEADROOM = 0.8  # leave a fifth of the free memory to everything else


class ModelTooLarge(ValueError):
    """A model whose weights would not fit in the memory available."""


@dataclass(frozen=True)
class ModelEstimate:
    parameters: int
    weight_bytes: int  # float32 weights and the fixed tables (buffers)

    @property
    def training_bytes(self) -> int:
        return self.weight_bytes * TRAINING_COPIES


def format_bytes(n: float) -> str:
    """'512 B', '3.1 MB', '41.9 GB', '4.0 TB' (powers of 1024)."""
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1024 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PB"


class _ShapesOnly(TorchFunctionMode):
    """Skips in-place calls (the random initialisation) on a model built on "meta": they
    change no shape, and running them there would import torch's compiler (seconds)."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        target = args[0] if args else kwargs.get("tensor", kwargs.get("self"))
        if name.endswith("_") and not name.endswith("__") \
                and isinstance(target, torch.Tensor) and target.is_meta:
            return target
        return func(*args, **kwargs)


def meta_model(cfg: ModelConfig) -> torch.nn.Module:
    """The model of ``cfg`` on the "meta" device: shapes, no memory, no initialisation
    (which on "meta" would import torch's compiler: 2 s and 74 MB, measured)."""
    from explorer.core.models import build_model

    with torch.device("meta"), _ShapesOnly():
        return build_model(cfg)


def _count(cfg: ModelConfig) -> tuple[int, int]:
    """(parameters, bytes of parameters and buffers) of a model built on "meta"."""
    model = meta_model(cfg)
    params = {id(p): p for p in model.parameters()}.values()
    buffers = {id(b): b for b in model.buffers()}.values()
    n = sum(p.numel() for p in params)
    size = sum(p.numel() * BYTES_PER_PARAMETER for p in params)
    size += sum(b.numel() * b.element_size() for b in buffers)
    return n, size


def _layer_fields(cfg: ModelConfig) -> list[str]:
    if cfg.arch == "encoder-decoder":
        return ["n_enc_layers", "n_dec_layers"]
    return ["n_layers"]


@functools.lru_cache(maxsize=256)
def _estimate(cfg: ModelConfig) -> ModelEstimate:
    """Counted with one layer per stack, then one more in each stack: the rest is linear."""
    fields = _layer_fields(cfg)
    base_cfg = cfg.replace(**{f: 1 for f in fields})
    base_n, base_size = _count(base_cfg)
    n, size = base_n, base_size
    for f in fields:
        two_n, two_size = _count(base_cfg.replace(**{f: 2}))
        n += (two_n - base_n) * (int(getattr(cfg, f)) - 1)
        size += (two_size - base_size) * (int(getattr(cfg, f)) - 1)
    return ModelEstimate(int(n), int(size))


def estimate_model(cfg: ModelConfig) -> ModelEstimate:
    """Parameters and float32 bytes of ``cfg``'s model, without allocating it."""
    try:
        return _estimate(cfg)
    except TypeError:  # an unhashable field value: count without the cache
        return _estimate.__wrapped__(cfg)


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_available() -> int | None:
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as f:
            limit = f.read().strip()
        if limit == "max":
            return None
        with open("/sys/fs/cgroup/memory.current", encoding="ascii") as f:
            used = int(f.read().strip())
        return max(0, int(limit) - used)
    except (OSError, ValueError):
        return None


def _rlimit_available() -> int | None:
    try:
        import resource
    except ImportError:
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft in (resource.RLIM_INFINITY, -1):
        return None
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            used = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        used = 0
    return max(0, soft - used)


def _windows_available() -> int | None:
    if sys.platform != "win32":
        return None
    import ctypes

    class Status(ctypes.Structure):
        _fields_ = [("length", ctypes.c_ulong), ("load", ctypes.c_ulong),
                    ("total_phys", ctypes.c_ulonglong), ("avail_phys", ctypes.c_ulonglong),
                    ("total_page", ctypes.c_ulonglong), ("avail_page", ctypes.c_ulonglong),
                    ("total_virtual", ctypes.c_ulonglong), ("avail_virtual", ctypes.c_ulonglong),
                    ("avail_extended", ctypes.c_ulonglong)]

    status = Status()
    status.length = ctypes.sizeof(Status)
    if not ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):
        return None
    return int(status.avail_phys)


def _sysconf_available() -> int | None:
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def available_memory() -> int | None:
    """Bytes this process can still allocate now (None when the system does not say):
    the least of free memory, a cgroup's limit and an address-space limit."""
    found = [v for v in (_meminfo_available() or _windows_available() or _sysconf_available(),
                         _cgroup_available(), _rlimit_available()) if v is not None]
    return min(found) if found else None


def check_model_fits(cfg: ModelConfig, training: bool = False) -> ModelEstimate:
    """The estimate of ``cfg``'s model; ModelTooLarge if it would not fit in memory now."""
    est = estimate_model(cfg)
    need = est.training_bytes if training else est.weight_bytes
    free = available_memory()
    if free is not None and need > free * HEADROOM:
        what = "to train (weights, gradients, AdamW moments)" if training else "for its weights"
        raise ModelTooLarge(
            f"this model has {est.parameters:,} parameters and needs {format_bytes(need)} "
            f"{what}, but only {format_bytes(free)} of memory is available: choose fewer "
            f"layers (n_layers={cfg.n_layers}), a smaller d_e ({cfg.d_e}) or a smaller "
            f"vocabulary ({cfg.vocab_size})"
        )
    return est
