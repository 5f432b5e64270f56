"""The bundled data sets by name: where their files are and how to load them.

The files live in ``resources/data/<name>/<split>.<txt|tsv>``, installed as the
package ``explorer.resources``, and are found through ``importlib.resources``,
never relative to the working directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from explorer.data import sentiment
from explorer.data.files import DataFileError, decode_text, parse_labelled, parse_pairs


@dataclass(frozen=True)
class DatasetInfo:
    """One bundled data set: its format, its task and its splits."""

    name: str
    kind: str  # "lines" (one example a line), "pairs" (a<TAB>b) or "labelled" (label<TAB>text)
    task: str  # the training objective it is meant for
    description: str
    suffix: str = ".txt"
    splits: tuple[str, ...] = ("train", "valid", "test")
    label_names: tuple[str, ...] = ()


DATASETS: dict[str, DatasetInfo] = {
    "grammar": DatasetInfo(
        "grammar", "lines", "next-token",
        "English-like sentences from an unambiguous PCFG with exactly known entropy "
        "(next-token and masked-token training)"),
    "translation": DatasetInfo(
        "translation", "pairs", "seq2seq",
        "Toy translation: SVO English-like source -> SOV made-up target, reordered",
        suffix=".tsv"),
    "sentiment": DatasetInfo(
        "sentiment", "labelled", "classify",
        "Two-class sentiment: one mood word, flipped by 'not'; balanced classes",
        suffix=".tsv", label_names=tuple(sentiment.LABEL_NAMES)),
    "induction": DatasetInfo(
        "induction", "lines", "next-token",
        "Induction heads: random letters in which segments of 4-30 letters repeat at "
        "varying distances (up to 48 back)"),
    "masked": DatasetInfo(
        "masked", "pairs", "masked",
        "Held-out grammar sentences with one word replaced by [MASK], and the answer",
        suffix=".tsv", splits=("valid", "test")),
    "modular": DatasetInfo(
        "modular", "lines", "last-token",
        "Grokking: a b = (a + b) mod 59 for every pair of residues; the trainer splits it",
        splits=("train",)),
}


def dataset_names() -> list[str]:
    """The names of the bundled data sets."""
    return list(DATASETS)


def data_root() -> Path:
    """The folder that holds the bundled data sets (``explorer.resources/data``)."""
    return Path(str(files("explorer.resources") / "data"))


def checkout_data_root() -> Path | None:
    """``resources/data`` of the git checkout the package runs from (an editable install,
    ``PYTHONPATH``), the default place ``data build`` writes to; None in an installed
    package, whose bundled files are never rewritten."""
    root = data_root().resolve()
    checkout = root.parent.parent
    if (root.parent.name == "resources" and (checkout / ".git").exists()
            and (checkout / "pyproject.toml").is_file()
            and (checkout / "explorer" / "__init__.py").is_file()):
        return root
    return None


def _info(name: str, split: str) -> DatasetInfo:
    if name not in DATASETS:
        raise KeyError(f"unknown data set {name!r}: use one of {', '.join(DATASETS)}")
    info = DATASETS[name]
    if split not in info.splits:
        raise KeyError(f"data set {name!r} has no split {split!r}: "
                       f"use one of {', '.join(info.splits)}")
    return info


def dataset_path(name: str, split: str = "train") -> Path:
    """The installed file of ``split`` of the bundled data set ``name``."""
    info = _info(name, split)
    return data_root() / name / f"{split}{info.suffix}"


def _read(name: str, split: str) -> tuple[str, str]:
    path = dataset_path(name, split)
    if not path.is_file():
        raise DataFileError(path, "bundled data file is missing: rebuild it with "
                                  f"'transformer-explorer data build --only {name}'")
    return decode_text(path.read_bytes(), path), f"{name}/{path.name}"


def load_lines(name: str, split: str = "train") -> list[str]:
    """The non-empty lines of a bundled data set's split (sentences, sequences, ...)."""
    text, _ = _read(name, split)
    return [line for line in text.splitlines() if line.strip()]


def load_pairs(name: str, split: str = "train") -> list[tuple[str, str]]:
    """The ``(source, target)`` pairs of a bundled ``pairs`` data set's split."""
    if DATASETS.get(name) is not None and DATASETS[name].kind != "pairs":
        raise ValueError(f"data set {name!r} holds {DATASETS[name].kind}, not pairs")
    text, where = _read(name, split)
    return parse_pairs(text, where)


def load_labelled(name: str, split: str = "train") -> tuple[list[str], list[int], list[str]]:
    """``(texts, label ids, label names)`` of a bundled ``labelled`` data set's split."""
    if DATASETS.get(name) is not None and DATASETS[name].kind != "labelled":
        raise ValueError(f"data set {name!r} holds {DATASETS[name].kind}, not labelled text")
    text, where = _read(name, split)
    return parse_labelled(text, where, list(DATASETS[name].label_names))
