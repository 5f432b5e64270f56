"""Where training runs: CPU, CUDA or Apple MPS, chosen automatically or by the user.

``resolve_device("auto")`` picks cuda > mps > cpu. TF32 matrix products apply on CUDA.
Precision (``resolve_precision``): ``fp32``, ``bf16`` (bfloat16 autocast; the weights,
the optimiser and the loss stay float32) or ``auto``, which takes bf16 on a CUDA GPU that
has it and on a CPU that multiplies bfloat16 natively (AVX512-BF16 or AMX) when the
model is wide enough for it to pay (``CPU_BF16_MIN_D_E``), fp32 otherwise.
``autocast(device, bf16=True)`` is the older CUDA-only switch.
``is_out_of_memory(exc)`` recognises a GPU out-of-memory error so a run can
stop with a message and offer a smaller batch or the CPU.
"""

from __future__ import annotations

import contextlib

import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "bf16")
# On a CPU, bf16 autocast pays only when the matrix products dominate: it casts every
# weight and activation, which costs more than it saves in a narrow model (measured:
# 0.8x fp32's tokens/s at d_e 128, 1.5-1.8x at d_e 384 on an AMX CPU; bench train).
CPU_BF16_MIN_D_E = 256
_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def fused_attention_pays(device: torch.device, precision: str) -> bool:
    """Whether training should use torch's fused attention kernel (scaled_dot_product_
    attention) rather than the paper's three products: yes, except under bf16 autocast
    on a CPU, where its backward pass is slower than the plain products (measured on
    the 10M-parameter model, bench train: 356 ms a step fused, 289 ms plain)."""
    return not (device.type == "cpu" and precision == "bf16")


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


def cpu_flags() -> set[str] | None:
    """The CPU's feature flags from /proc/cpuinfo (None where it cannot be read)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        return None
    return None


def cpu_bf16_native(flags: set[str] | None = None) -> bool:
    """Whether this CPU multiplies bfloat16 natively (AVX512-BF16 or AMX) and torch's
    oneDNN can use it. Unknown (no /proc/cpuinfo) counts as no."""
    flags = cpu_flags() if flags is None else flags
    if not flags or not any(f in flags for f in _BF16_FLAGS):
        return False
    return bool(torch.backends.mkldnn.is_available())


def bf16_supported(device: torch.device) -> bool:
    """Whether bf16 autocast runs natively on ``device``."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        return cpu_bf16_native()
    return False


def tf32_supported(device: torch.device) -> bool:
    """TF32 matrix products: CUDA GPUs from Ampere (compute capability 8) on."""
    return device.type == "cuda" and torch.cuda.get_device_capability(device)[0] >= 8


def resolve_precision(requested: str, device: torch.device, d_e: int | None = None,
                      supported: bool | None = None) -> tuple[str, str]:
    """(``fp32`` or ``bf16``, why): what ``requested`` (auto, fp32, bf16) means here.

    ``bf16`` where the device lacks it falls back to fp32 (and says so); ``auto`` takes
    bf16 where it pays: any CUDA GPU with bf16, a CPU with native bf16 for models with
    d_e >= CPU_BF16_MIN_D_E. ``supported`` overrides the detection (tests)."""
    requested = (requested or "auto").strip().lower()
    if requested not in PRECISIONS:
        raise ValueError(f"unknown precision {requested!r}: use one of {', '.join(PRECISIONS)}")
    if requested == "fp32":
        return "fp32", "asked for"
    native = bf16_supported(device) if supported is None else supported
    where = "this GPU" if device.type == "cuda" else f"this {device.type.upper()}"
    if not native:
        if requested == "bf16":
            return "fp32", f"bf16 asked for, but {where} has no native bfloat16: fp32"
        return "fp32", f"{where} has no native bfloat16"
    if requested == "bf16":
        return "bf16", "asked for"
    if device.type == "cpu" and d_e is not None and d_e < CPU_BF16_MIN_D_E:
        return "fp32", f"auto: d_e {d_e} < {CPU_BF16_MIN_D_E}, where bf16 does not pay on a CPU"
    return "bf16", f"auto: {where} has native bfloat16"


def precision_label(precision: str, device: torch.device, tf32: bool = True) -> str:
    """'bf16 autocast (fp32 weights)', 'fp32 (TF32 matmuls)' or 'fp32'."""
    if precision == "bf16":
        return "bf16 autocast (fp32 weights and loss)"
    if tf32 and tf32_supported(device):
        return "fp32 (TF32 matmuls)"
    return "fp32"


def precision_autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """bfloat16 autocast for ``precision == "bf16"`` (CPU or CUDA), otherwise nothing."""
    if precision == "bf16" and device.type in ("cpu", "cuda"):
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


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

