"""What a run trains on: a bundled data set by name or a UTF-8 file the user opens.

- next-token / masked: any text; it is tokenized whole and cut into l_max windows.
- seq2seq: one ``context<TAB>target`` pair per line.
- classify: one ``label<TAB>text`` example per line.

Every problem (missing, empty, not text, malformed line N) is a ``ValueError`` whose
message names the file and, where it applies, the line.
"""

from __future__ import annotations

import hashlib
import importlib
from dataclasses import dataclass, field
from pathlib import Path

from explorer.train.objectives import TASKS

MAX_FILE_BYTES = 200 * 2**20


@dataclass
class DataSource:
    """Raw examples for one task, before tokenization."""

    task: str
    name: str  # the file path or bundled name it came from
    text: str = ""  # next-token, masked
    pairs: list[tuple[str, str]] = field(default_factory=list)  # seq2seq: (z, x)
    labelled: list[tuple[str, str]] = field(default_factory=list)  # classify: (label, text)

    def texts(self) -> list[str]:
        """Every string a tokenizer should learn from."""
        if self.task == "seq2seq":
            return [s for pair in self.pairs for s in pair]
        if self.task == "classify":
            return [text for _, text in self.labelled]
        return self.text.splitlines() or [self.text]

    def digest(self) -> str:
        """sha256 of the content, to notice when a resumed run's data changed."""
        h = hashlib.sha256(self.task.encode())
        for s in [self.text, *(a + "\t" + b for a, b in self.pairs + self.labelled)]:
            h.update(s.encode("utf-8", "surrogatepass"))
            h.update(b"\n")
        return h.hexdigest()

    def describe(self) -> str:
        if self.task == "seq2seq":
            return f"{self.name}: {len(self.pairs)} pairs"
        if self.task == "classify":
            classes = len({label for label, _ in self.labelled})
            return f"{self.name}: {len(self.labelled)} examples, {classes} classes"
        return f"{self.name}: {len(self.text):,} characters"


def read_text(path: str | Path) -> str:
    """A UTF-8 text file's content, with clear errors for missing/empty/binary files."""
    p = Path(path)
    if not p.exists():
        raise ValueError(f"{p}: no such file")
    if not p.is_file():
        raise ValueError(f"{p}: not a file")
    size = p.stat().st_size
    if size == 0:
        raise ValueError(f"{p}: the file is empty")
    if size > MAX_FILE_BYTES:
        raise ValueError(f"{p}: {size / 2**20:.0f} MB is too large (at most 200 MB)")
    raw = p.read_bytes()
    if b"\x00" in raw[:65536]:
        raise ValueError(f"{p}: not a text file (it contains NUL bytes)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ValueError(f"{p}: not UTF-8 text (bad byte on line {line})") from exc
    if not text.strip():
        raise ValueError(f"{p}: the file holds only whitespace")
    return text


def parse_tab_lines(text: str, name: str, what: str) -> list[tuple[str, str]]:
    """Lines ``a<TAB>b`` (blank lines skipped); ``what`` names the two fields."""
    rows: list[tuple[str, str]] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            found = f"{len(parts) - 1} tabs" if len(parts) != 2 else "an empty field"
            raise ValueError(f"{name} line {n}: expected '{what}', found {found}")
        rows.append((parts[0].strip(), parts[1].strip()))
    if not rows:
        raise ValueError(f"{name}: no '{what}' lines found")
    return rows


def source_from_text(task: str, text: str, name: str) -> DataSource:
    """Parse a file's text for ``task``."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}: use one of {', '.join(TASKS)}")
    if task == "seq2seq":
        return DataSource(task, name, pairs=parse_tab_lines(text, name, "context<TAB>target"))
    if task == "classify":
        rows = parse_tab_lines(text, name, "label<TAB>text")
        if len({label for label, _ in rows}) < 2:
            raise ValueError(f"{name}: classification needs at least two different labels")
        return DataSource(task, name, labelled=rows)
    return DataSource(task, name, text=text)


def bundled_names() -> list[str]:
    """Names of the bundled data sets (empty when explorer.data provides none)."""
    data = importlib.import_module("explorer.data")
    names = getattr(data, "dataset_names", None) or getattr(data, "list_datasets", None)
    return list(names()) if callable(names) else []


def _bundled(task: str, name: str) -> DataSource:
    data = importlib.import_module("explorer.data")
    if task == "seq2seq" and hasattr(data, "load_pairs"):
        return DataSource(task, name, pairs=[tuple(p) for p in data.load_pairs(name)])
    if task == "classify" and hasattr(data, "load_labelled"):
        return DataSource(task, name, labelled=[tuple(p) for p in data.load_labelled(name)])
    if hasattr(data, "load_lines"):
        return DataSource(task, name, text="\n".join(data.load_lines(name)))
    raise ValueError(f"bundled data set {name!r} cannot be loaded for task {task!r}")


def load_source(task: str, data: str | Path) -> DataSource:
    """A file path or a bundled data set name -> its examples for ``task``."""
    path = Path(data)
    if path.is_file() or path.suffix or "/" in str(data) or "\\" in str(data):
        return source_from_text(task, read_text(path), str(path))
    names = bundled_names()
    if str(data) not in names:
        known = ", ".join(names) if names else "none are installed yet"
        raise ValueError(f"{data!r} is neither a file nor a bundled data set ({known})")
    try:
        return _bundled(task, str(data))
    except (KeyError, FileNotFoundError, TypeError) as exc:
        raise ValueError(f"bundled data set {data!r} does not fit task {task!r}: {exc}") from exc
