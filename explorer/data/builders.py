"""How each bundled data set is generated, split and written, bit for bit.

Every split comes from its own seeded ``random.Random`` (nothing depends on set
or dict iteration order, nor on the hash seed), so ``transformer-explorer data
build`` rewrites byte-identical files. Held-out splits of the translation and
sentiment sets share no example with their training split.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from pathlib import Path

from explorer.data import grammar, induction, modular, sentiment, translation

SPLITS = ("train", "valid", "test")
SIZES: dict[str, dict[str, int]] = {
    "grammar": {"train": 32000, "valid": 2000, "test": 2000},
    "translation": {"train": 6000, "valid": 500, "test": 500},
    "sentiment": {"train": 5000, "valid": 500, "test": 500},
    "induction": {"train": 15000, "valid": 500, "test": 500},
}
MASK_TOKEN = "[MASK]"


def _seed(name: str, split: str) -> int:
    """A fixed seed per (data set, split), independent of Python's string hashing."""
    offset = sum((i + 1) * ord(c) for i, c in enumerate(f"{name}/{split}"))
    return grammar.SEED + offset


def _lines(rows: Iterable[str]) -> str:
    return "".join(f"{row}\n" for row in rows)


def _tsv(rows: Iterable[tuple[str, str]]) -> str:
    return "".join(f"{a}\t{b}\n" for a, b in rows)


def grammar_split(split: str) -> list[str]:
    """The sentences of one split of the grammar corpus (independent samples)."""
    return grammar.sample_sentences(SIZES["grammar"][split], _seed("grammar", split))


def mask_one_word(sentences: list[str], seed: int) -> list[tuple[str, str]]:
    """Each sentence with one random word replaced by ``[MASK]``: ``(masked, answer)``."""
    rng = random.Random(seed)
    rows: list[tuple[str, str]] = []
    for sentence in sentences:
        tokens = sentence.split()
        i = rng.randrange(len(tokens) - 1)  # never the final "."
        answer, tokens[i] = tokens[i], MASK_TOKEN
        rows.append((" ".join(tokens), answer))
    return rows


def _build_grammar() -> dict[str, str]:
    return {f"{s}.txt": _lines(grammar_split(s)) for s in SPLITS}


def _build_masked() -> dict[str, str]:
    return {f"{s}.tsv": _tsv(mask_one_word(grammar_split(s), _seed("masked", s)))
            for s in ("valid", "test")}


def _build_disjoint(name: str, sample: Callable[[int, int, frozenset[str]],
                                                  list[tuple[str, str]]],
                    key: int) -> dict[str, str]:
    """Splits drawn in order, each excluding every example of the splits before it."""
    files: dict[str, str] = {}
    used: list[str] = []
    for split in SPLITS:
        rows = sample(SIZES[name][split], _seed(name, split), frozenset(used))
        used.extend(row[key] for row in rows)
        files[f"{split}.tsv"] = _tsv(rows)
    return files


def _build_translation() -> dict[str, str]:
    return _build_disjoint("translation", translation.sample_pairs, key=0)


def _build_sentiment() -> dict[str, str]:
    return _build_disjoint("sentiment", sentiment.sample_labelled, key=1)


def _build_induction() -> dict[str, str]:
    return {f"{s}.txt": _lines(induction.sample_lines(SIZES["induction"][s],
                                                      _seed("induction", s)))
            for s in SPLITS}


def _build_modular() -> dict[str, str]:
    return {"train.txt": _lines(modular.modular_lines())}


BUILDERS: dict[str, Callable[[], dict[str, str]]] = {
    "grammar": _build_grammar,
    "translation": _build_translation,
    "sentiment": _build_sentiment,
    "induction": _build_induction,
    "masked": _build_masked,
    "modular": _build_modular,
}


def build(name: str) -> dict[str, str]:
    """The files of data set ``name``: file name -> text (UTF-8, ``\\n`` line ends)."""
    if name not in BUILDERS:
        raise ValueError(f"unknown data set {name!r}: use one of {', '.join(BUILDERS)}")
    return BUILDERS[name]()


def write(name: str, out_dir: str | Path) -> list[Path]:
    """Generate ``name`` into ``out_dir/name/``; returns the files written."""
    folder = Path(out_dir) / name
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, text in build(name).items():
        path = folder / filename
        path.write_bytes(text.encode("utf-8"))
        written.append(path)
    return written


def differences(name: str, out_dir: str | Path) -> list[str]:
    """File names of ``name`` under ``out_dir`` that differ from a fresh build."""
    folder = Path(out_dir) / name
    return [
        filename
        for filename, text in build(name).items()
        if not (folder / filename).is_file()
        or (folder / filename).read_bytes() != text.encode("utf-8")
    ]
