"""Read a safetensors file tensor by tensor into memory the caller owns.

``safetensors.safe_open(...).get_tensor`` returns views of one private mapping of the
whole file, so a model built from them keeps the file mapped for as long as it lives
(and a transposed or converted tensor is a second copy beside it). ``WeightsFile`` reads
the header itself and each tensor with plain reads, straight into a tensor it allocates
or into one the caller gives (a model's own parameter): after loading, the process
holds one copy of the weights and no mapping of the file.

A tensor that is converted (bfloat16 to float32) or transposed on its way into the model
is read through ``mapped``: a copy-on-write mapping of only its own pages, alive while the
view is, so that the source of the conversion costs page cache for a moment instead of a
heap block beside the kept result (freed heap blocks between kept ones stay in the
process: measured on GPT-2's transposed Conv1D weights, +25 % RSS).

The format: 8 bytes (little-endian u64) giving the header's length N, N bytes of JSON
``{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}``,
then the data, offsets counted from the byte after the header.
"""

from __future__ import annotations

import json
import math
import mmap
import os
from pathlib import Path

import torch

DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16,
    "BF16": torch.bfloat16, "I64": torch.int64, "I32": torch.int32, "I16": torch.int16,
    "I8": torch.int8, "U8": torch.uint8, "BOOL": torch.bool,
}
MAX_HEADER = 100 * 2**20  # safetensors' own limit


class WeightsFile:
    """The tensors of one safetensors file: ``keys()``, ``shape``, ``dtype``, ``read``.

    Raises ValueError naming the file for a header that is not one, a tensor whose
    bytes do not match its shape, or data past the end of the file (a truncated file).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._entries: dict[str, tuple[torch.dtype, tuple[int, ...], int, int]] = {}
        with self.path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(8)
            n = int.from_bytes(head, "little") if len(head) == 8 else -1
            if n < 2 or n > min(MAX_HEADER, size - 8):
                raise ValueError(f"{self.path}: not a safetensors file (no valid header)")
            try:
                header = json.loads(f.read(n))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise ValueError(f"{self.path}: not a safetensors file ({exc})") from exc
        self.start = 8 + n
        if not isinstance(header, dict):
            raise ValueError(f"{self.path}: not a safetensors file (header is not a table)")
        for name, entry in header.items():
            if name != "__metadata__":
                self._entries[name] = self._entry(name, entry, size)

    def _entry(self, name: str, entry, size: int) -> tuple[torch.dtype, tuple[int, ...],
                                                            int, int]:
        try:
            kind, shape = entry["dtype"], tuple(int(d) for d in entry["shape"])
            begin, end = (int(v) for v in entry["data_offsets"])
        except (TypeError, KeyError, ValueError) as exc:
            raise ValueError(f"{self.path}: tensor {name!r} has a malformed entry") from exc
        if kind not in DTYPES:
            raise ValueError(f"{self.path}: tensor {name!r} has an unknown dtype {kind!r}")
        dtype = DTYPES[kind]
        nbytes = math.prod(shape) * dtype.itemsize
        if min(shape, default=0) < 0 or begin < 0 or end - begin != nbytes:
            raise ValueError(f"{self.path}: tensor {name!r} holds {end - begin} bytes, "
                             f"not the {nbytes} of its shape {shape}")
        if self.start + end > size:
            raise ValueError(f"{self.path}: damaged or truncated safetensors file (tensor "
                             f"{name!r} ends past the file's {size} bytes)")
        return dtype, shape, begin, end

    def keys(self) -> list[str]:
        return list(self._entries)

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def shape(self, name: str) -> tuple[int, ...]:
        return self._entries[name][1]

    def dtype(self, name: str) -> torch.dtype:
        return self._entries[name][0]

    def read(self, name: str, out: torch.Tensor | None = None) -> torch.Tensor:
        """Tensor ``name`` in new memory, or written into ``out`` (same shape; converted
        to its dtype) and ``out`` returned."""
        dtype, shape, begin, end = self._entries[name]
        if out is not None and tuple(out.shape) != shape:
            raise ValueError(f"{self.path}: tensor {name!r} has shape {shape}, "
                             f"expected {tuple(out.shape)}")
        direct = out is not None and out.dtype == dtype and out.is_contiguous() \
            and out.device.type == "cpu"
        tensor = out if direct else torch.empty(shape, dtype=dtype)
        if end > begin:
            raw = tensor.detach().view(-1).view(torch.uint8).numpy()
            with self.path.open("rb", buffering=0) as f:
                f.seek(self.start + begin)
                view, done = memoryview(raw), 0
                while done < end - begin:
                    got = f.readinto(view[done:])
                    if not got:
                        raise ValueError(f"{self.path}: damaged or truncated safetensors "
                                         f"file (tensor {name!r} is cut short)")
                    done += got
        if out is not None and not direct:
            with torch.no_grad():
                out.copy_(tensor)
            return out
        return tensor

    def mapped(self, name: str) -> torch.Tensor:
        """Tensor ``name`` as a view of the file's own pages (copy-on-write: writing to it
        never changes the file), mapped for as long as the view lives. For a tensor that
        is converted or transposed into new memory: keep only what is computed from it."""
        dtype, shape, begin, end = self._entries[name]
        if end == begin:
            return torch.empty(shape, dtype=dtype)
        offset = self.start + begin
        page = offset - offset % mmap.ALLOCATIONGRANULARITY
        with self.path.open("rb") as f:
            if os.fstat(f.fileno()).st_size < self.start + end:  # cut since it was opened
                raise ValueError(f"{self.path}: damaged or truncated safetensors file "
                                 f"(tensor {name!r} is cut short)")
            pages = mmap.mmap(f.fileno(), self.start + end - page, offset=page,
                              access=mmap.ACCESS_COPY)
        return torch.frombuffer(pages, dtype=dtype, count=math.prod(shape),
                                offset=offset - page).view(shape)
