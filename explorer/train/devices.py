"""Where training runs: CPU, CUDA or Apple MPS, chosen automatically or by the user.

``resolve_device("auto")`` picks cuda > mps > cpu. Speed options apply on CUDA only:
TF32 matrix products and bfloat16 autocast (``autocast(device, bf16=True)`` is a no-op
elsewhere). ``is_out_of_memory(exc)`` recognises a GPU out-of-memory error so a run can
stop with a message and offer a smaller batch or the CPU.
"""

from __future__ import annotations

import contextlib

import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def available_devices() -> list[str]:
    """The devices this machine can train on, best first ("cpu" always last)."""
    found = []
    if torch.cuda.is_available():
        found += [f"cuda:{i}" if i else "cuda" for i in range(torch.cuda.device_count())]
    if mps_available():
        found.append("mps")
    return found + ["cpu"]


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    """``auto`` -> cuda > mps > cpu; otherwise the named device, checked to exist."""
    if isinstance(name, torch.device):
        name = str(name)
    name = (name or "auto").strip().lower()
    if name == "auto":
        return torch.device(available_devices()[0])
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        choices = ", ".join(DEVICE_CHOICES)
        raise ValueError(f"unknown device {name!r}: use one of {choices}") from exc
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("device 'cuda' was asked for but no CUDA GPU is available")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"there is no {device} (only {torch.cuda.device_count()} GPU(s))")
    elif device.type == "mps":
        if not mps_available():
            raise ValueError("device 'mps' was asked for but Apple MPS is not available")
    elif device.type != "cpu":
        raise ValueError(f"unsupported device {name!r}: use one of {', '.join(DEVICE_CHOICES)}")
    return device


def describe_device(device: torch.device) -> str:
    """A short visible label, e.g. 'CUDA · NVIDIA H100 (79 GB)' or 'CPU · 8 threads'."""
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        return f"CUDA · {props.name} ({props.total_memory / 2**30:.0f} GB)"
    if device.type == "mps":
        return "Apple MPS"
    return f"CPU · {torch.get_num_threads()} threads"


def configure_device(device: torch.device, tf32: bool = True) -> None:
    """Turn on TF32 matrix products on CUDA (no effect on other devices)."""
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32


def autocast(device: torch.device, bf16: bool = False) -> contextlib.AbstractContextManager:
    """bfloat16 autocast on CUDA when asked for and supported; otherwise nothing."""
    if bf16 and device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def is_out_of_memory(exc: BaseException) -> bool:
    """True for CUDA's OutOfMemoryError and MPS's 'out of memory' RuntimeError."""
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def free_memory(device: torch.device) -> None:
    """Give cached blocks back after an out-of-memory error."""
    if device.type == "cuda":
        torch.cuda.empty_cache()
    elif device.type == "mps" and hasattr(torch, "mps"):
        torch.mps.empty_cache()

