"""What a run trains on: a bundled data set by name or a UTF-8 file the user opens.

- next-token / masked: any text; it is tokenized whole and cut into l_max windows.
- seq2seq: one ``context<TAB>target`` pair per line.
- classify: one ``label<TAB>text`` example per line.
- last-token: one example per line, scored on its last token (``a b = c``).
- a generated source (``explorer.train.generated``, next-token only): ids drawn fresh
  every batch; its ``text`` is only what the tokenizer learns from.

Files are read and parsed by ``explorer.data`` (its ``DataFileError`` is a
``ValueError`` naming the file and, for a malformed line, its number).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from explorer.train.objectives import TASKS

LINE_PIECE = 1 << 22  # characters split into lines at a time


@dataclass
class DataSource:
    """Raw examples for one task, before tokenization."""

    task: str
    name: str  # the file path or bundled name it came from
    text: str = ""  # next-token, masked
    pairs: list[tuple[str, str]] = field(default_factory=list)  # seq2seq: (z, x)
    labelled: list[tuple[str, str]] = field(default_factory=list)  # classify: (label, text)
    label_names: list[str] = field(default_factory=list)  # classify: class order (optional)
    generated: str = ""  # the name of a generated source (explorer.train.generated)

    def texts(self) -> Iterator[str]:
        """Every string a tokenizer should learn from (the lines of a text, read lazily)."""
        if self.task == "seq2seq":
            return (s for pair in self.pairs for s in pair)
        if self.task == "classify":
            return (text for _, text in self.labelled)
        return self._lines()

    def _lines(self) -> Iterator[str]:
        """``text.splitlines()`` (the whole text when it has no line), piece by piece: each
        piece ends after a "\n", so no line break (not even "\r\n") is cut in two."""
        text, start, step = self.text, 0, LINE_PIECE
        if not text:
            yield text
            return
        while start < len(text):
            stop = text.find("\n", min(len(text), start + step))
            stop = len(text) if stop < 0 else stop + 1
            yield from text[start:stop].splitlines()
            start = stop
        if "\n" in text:  # the stream's line breaks are tokens the model predicts
            yield "\n"

    def digest(self) -> str:
        """sha256 of the content, to notice when a resumed run's data changed."""
        h = hashlib.sha256((self.task + self.generated).encode())
        step = 1 << 24  # a long text is hashed in pieces (the same digest, no full copy)
        for i in range(0, len(self.text), step):
            h.update(self.text[i : i + step].encode("utf-8", "surrogatepass"))
        h.update(b"\n")
        for s in (a + "\t" + b for a, b in self.pairs + self.labelled):
            h.update(s.encode("utf-8", "surrogatepass"))
            h.update(b"\n")
        return h.hexdigest()

    def describe(self) -> str:
        if self.generated:
            return f"{self.name}: generated"
        if self.task == "seq2seq":
            return f"{self.name}: {len(self.pairs)} pairs"
        if self.task == "classify":
            classes = len({label for label, _ in self.labelled})
            return f"{self.name}: {len(self.labelled)} examples, {classes} classes"
        return f"{self.name}: {len(self.text):,} characters"


def source_from_text(task: str, text: str, name: str) -> DataSource:
    """Parse a text for ``task`` (pairs and labelled lines with explorer.data's parsers)."""
    from explorer.data.files import parse_labelled, parse_pairs

    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}: use one of {', '.join(TASKS)}")
    if task == "seq2seq":
        return DataSource(task, name, pairs=parse_pairs(text, name))
    if task == "classify":
        texts, labels, names = parse_labelled(text, name)
        return _labelled(task, name, texts, labels, names)
    return DataSource(task, name, text=text)


def _labelled(task: str, name: str, texts: list[str], labels: list[int],
              names: list[str]) -> DataSource:
    rows = [(names[c], t) for c, t in zip(labels, texts)]
    return DataSource(task, name, labelled=rows, label_names=list(names))


def bundled_names() -> list[str]:
    """Names of the bundled data sets (explorer.data's registry) and of the generated ones."""
    from explorer.data import dataset_names
    from explorer.train.generated import GENERATED

    return [*dataset_names(), *GENERATED]


# which bundled data kind each task reads
TASK_KIND = {"next-token": "lines", "masked": "lines", "seq2seq": "pairs", "classify": "labelled",
             "last-token": "lines"}


def _bundled(task: str, name: str) -> DataSource:
    from explorer.data import DATASETS, load_labelled, load_lines, load_pairs

    kind = DATASETS[name].kind
    if kind != TASK_KIND[task]:
        fits = [n for n, info in DATASETS.items() if info.kind == TASK_KIND[task]]
        raise ValueError(f"bundled data set {name!r} holds {kind}, which task {task!r} "
                         f"cannot train on; try {', '.join(fits) or 'a file of your own'}")
    if kind == "pairs":
        return DataSource(task, name, pairs=[tuple(p) for p in load_pairs(name)])
    if kind == "labelled":
        return _labelled(task, name, *load_labelled(name))
    return DataSource(task, name, text="\n".join(load_lines(name)))


def load_source(task: str, data: str | Path) -> DataSource:
    """A file path or a bundled data set name -> its examples for ``task``."""
    from explorer.data import read_text_file
    from explorer.data.files import MAX_FILE_BYTES, MAX_STREAM_BYTES
    from explorer.train.generated import GENERATED, TOKENIZER_TEXT

    path = Path(data)
    names = bundled_names()
    if str(data) in GENERATED and not path.is_file():
        if task != "next-token":
            raise ValueError(f"{data} is generated for next-token training, not task {task!r}")
        return DataSource(task, str(data), text=TOKENIZER_TEXT, generated=str(data))
    if str(data) in names and not path.is_file():
        return _bundled(task, str(data))
    if path.is_file() or path.suffix or "/" in str(data) or "\\" in str(data):
        limit = MAX_STREAM_BYTES if TASK_KIND.get(task) == "lines" else MAX_FILE_BYTES
        return source_from_text(task, read_text_file(path, limit), str(path))
    raise ValueError(f"{data!r} is neither a file nor a bundled data set "
                     f"({', '.join(names)})")
