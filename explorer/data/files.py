"""The user's own data files: plain text, ``source<TAB>target`` pairs, ``label<TAB>text``.

Every problem is a ``DataFileError`` (a ``ValueError``) whose message names the
file and, for a malformed line, its number and what is wrong with it, e.g.
``notes.tsv line 7: expected 'source<TAB>target', found no tab``.
"""

from __future__ import annotations

from pathlib import Path

MAX_FILE_BYTES = 200 * 2**20
MAX_STREAM_BYTES = 4 * 2**30  # plain training text, tokenized piece by piece


class DataFileError(ValueError):
    """A data file that is missing, empty, not UTF-8 text, or malformed on some line."""

    def __init__(self, path: str | Path, problem: str, line: int | None = None) -> None:
        self.path = str(path)
        self.problem = problem
        self.line = line
        where = f"{self.path} line {line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")


def decode_text(raw: bytes, name: str | Path) -> str:
    """UTF-8 bytes (a BOM is dropped) -> text; binary or undecodable bytes raise."""
    if not raw:
        raise DataFileError(name, "the file is empty")
    nul = raw.find(b"\x00")
    if nul >= 0:
        line = raw[:nul].count(b"\n") + 1
        raise DataFileError(name, "not a text file (it contains NUL bytes: binary data?)", line)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataFileError(
            name, f"not UTF-8 text (byte 0x{raw[exc.start]:02x} cannot be decoded)", line
        ) from exc
    if text.isspace():  # (no stripped copy of a large text)
        raise DataFileError(name, "the file holds only whitespace")
    return text


def read_text_file(path: str | Path, max_bytes: int = MAX_FILE_BYTES) -> str:
    """The content of a UTF-8 text file, with clear errors for missing/empty/binary files
    and for files above ``max_bytes``."""
    p = Path(path)
    if not p.exists():
        raise DataFileError(p, "no such file")
    if not p.is_file():
        raise DataFileError(p, "not a file")
    size = p.stat().st_size
    if size > max_bytes:
        raise DataFileError(p, f"{size / 2**20:,.0f} MB is too large "
                               f"(at most {max_bytes // 2**20:,} MB)")
    return decode_text(p.read_bytes(), p)


def parse_tab_lines(text: str, name: str | Path, fields: tuple[str, str]) -> list[tuple[str, str]]:
    """Lines ``a<TAB>b`` (blank lines skipped); ``fields`` names ``a`` and ``b`` for errors."""
    expected = f"expected '{fields[0]}<TAB>{fields[1]}'"
    rows: list[tuple[str, str]] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) == 1:
            raise DataFileError(name, f"{expected}, found no tab", n)
        if len(parts) > 2:
            raise DataFileError(name, f"{expected}, found {len(parts) - 1} tabs", n)
        for field, value in zip(fields, parts):
            if not value.strip():
                raise DataFileError(name, f"{expected}, found an empty {field}", n)
        rows.append((parts[0].strip(), parts[1].strip()))
    if not rows:
        raise DataFileError(name, f"no '{fields[0]}<TAB>{fields[1]}' lines found")
    return rows


def parse_pairs(text: str, name: str | Path) -> list[tuple[str, str]]:
    """``source<TAB>target`` lines -> ``[(source, target)]``."""
    return parse_tab_lines(text, name, ("source", "target"))


def _label_order(label: str) -> tuple[int, float, str]:
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def parse_labelled(
    text: str, name: str | Path, label_names: list[str] | None = None
) -> tuple[list[str], list[int], list[str]]:
    """``label<TAB>text`` lines -> ``(texts, label ids, label names)``.

    Without ``label_names`` the names are the labels found, numbers in numeric
    order first, then the rest alphabetically; with them, an unknown label is an
    error on its line.
    """
    rows = parse_tab_lines(text, name, ("label", "text"))
    if label_names is None:
        label_names = sorted({label for label, _ in rows}, key=_label_order)
        if len(label_names) < 2:
            raise DataFileError(name, f"classification needs at least two labels, "
                                      f"found only {label_names[0]!r}")
    index = {label: i for i, label in enumerate(label_names)}
    labels: list[int] = []
    for label, _ in rows:
        if label not in index:
            line = next(n for n, line in enumerate(text.splitlines(), start=1)
                        if line.split("\t", 1)[0].strip() == label)
            raise DataFileError(name, f"unknown label {label!r} (known: "
                                      f"{', '.join(label_names)})", line)
        labels.append(index[label])
    return [t for _, t in rows], labels, list(label_names)


def read_pairs_file(path: str | Path) -> list[tuple[str, str]]:
    """A user's ``source<TAB>target`` file -> ``[(source, target)]``."""
    return parse_pairs(read_text_file(path), path)


def read_labelled_file(path: str | Path) -> tuple[list[str], list[int], list[str]]:
    """A user's ``label<TAB>text`` file -> ``(texts, label ids, label names)``."""
    return parse_labelled(read_text_file(path), path)
