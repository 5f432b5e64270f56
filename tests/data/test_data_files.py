"""The registry, the user's files and their errors, and the bit-for-bit rebuild."""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from explorer.commands import data as data_command
from explorer.data import (
    DATASETS,
    DataFileError,
    builders,
    dataset_path,
    load_labelled,
    load_lines,
    read_labelled_file,
    read_pairs_file,
    read_text_file,
)
from explorer.data.registry import data_root


def test_every_split_is_installed_inside_the_package():
    assert data_root().parts[-1] == "data"
    for name, info in DATASETS.items():
        for split in info.splits:
            path = dataset_path(name, split)
            assert path.is_file() and path.suffix == info.suffix, path
            assert path.stat().st_size > 1000


def test_unknown_names_and_splits_are_clear_errors():
    with pytest.raises(KeyError, match="unknown data set 'nope'"):
        dataset_path("nope")
    with pytest.raises(KeyError, match="no split 'train'"):
        load_lines("masked", "train")
    with pytest.raises(ValueError, match="not labelled"):
        load_labelled("translation")


def test_rebuilt_files_are_identical_to_the_committed_ones():
    for name in DATASETS:
        assert builders.differences(name, data_root()) == [], name


def test_build_command_writes_identical_files(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    data_command.add_arguments(parser)
    args = parser.parse_args(["build", "--out", str(tmp_path), "--only", "sentiment"])
    assert data_command.run(args) == 0
    for split in ("train", "valid", "test"):
        built = (tmp_path / "sentiment" / f"{split}.tsv").read_bytes()
        installed = dataset_path("sentiment", split).read_bytes()
        assert hashlib.sha256(built).digest() == hashlib.sha256(installed).digest()
    assert "wrote" in capsys.readouterr().out
    (tmp_path / "sentiment" / "test.tsv").write_text("positive\tchanged .\n", encoding="utf-8")
    args = parser.parse_args(["check", "--out", str(tmp_path), "--only", "sentiment"])
    assert data_command.run(args) == 1
    assert "differs: test.tsv" in capsys.readouterr().out
    assert data_command.run(parser.parse_args(["build", "--only", "nope"])) == 1


def test_rebuild_does_not_depend_on_the_hash_seed(tmp_path):
    code = ("import sys; from explorer.data import builders; "
            "builders.write('translation', sys.argv[1])")
    for seed in ("1", "2"):
        out = tmp_path / seed
        subprocess.run([sys.executable, "-c", code, str(out)], check=True,
                       env={"PYTHONHASHSEED": seed, "PATH": ""})
    a = (tmp_path / "1" / "translation" / "train.tsv").read_bytes()
    assert a == (tmp_path / "2" / "translation" / "train.tsv").read_bytes()
    assert a == dataset_path("translation", "train").read_bytes()


def _write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_user_text_file_errors(tmp_path):
    with pytest.raises(DataFileError, match="no such file"):
        read_text_file(tmp_path / "missing.txt")
    with pytest.raises(DataFileError, match="empty"):
        read_text_file(_write(tmp_path, "empty.txt", b""))
    with pytest.raises(DataFileError, match="only whitespace"):
        read_text_file(_write(tmp_path, "blank.txt", b"  \n\n"))
    with pytest.raises(DataFileError, match=r"line 2: not a text file"):
        read_text_file(_write(tmp_path, "bin.txt", b"ok\n\x00\x01\x02"))
    with pytest.raises(DataFileError, match=r"line 3: not UTF-8 text \(byte 0xff"):
        read_text_file(_write(tmp_path, "latin.txt", b"a\nb\n\xff\n"))
    with pytest.raises(DataFileError, match="not a file"):
        read_text_file(tmp_path)
    assert read_text_file(_write(tmp_path, "bom.txt", "\ufeffhé\n".encode())) == "hé\n"
    assert issubclass(DataFileError, ValueError)


def test_user_pairs_file_names_the_bad_line(tmp_path):
    good = _write(tmp_path, "pairs.tsv", b"a b\tx y\n\nc\td\n")
    assert read_pairs_file(good) == [("a b", "x y"), ("c", "d")]
    cases = [(b"a\tb\nno tab here\n", "line 2: expected 'source<TAB>target', found no tab"),
             (b"a\tb\tc\n", "line 1: expected 'source<TAB>target', found 2 tabs"),
             (b"a\tb\nc\td\n\t x\n", "line 3: expected 'source<TAB>target', found an empty source")]
    for i, (content, message) in enumerate(cases):
        with pytest.raises(DataFileError) as info:
            read_pairs_file(_write(tmp_path, f"bad{i}.tsv", content))
        assert message in str(info.value)
        assert info.value.line == int(message.split()[1].rstrip(":"))


def test_user_labelled_file(tmp_path):
    texts, labels, names = read_labelled_file(
        _write(tmp_path, "l.tsv", b"10\tten\n2\ttwo\n10\tten again\n"))
    assert texts == ["ten", "two", "ten again"] and names == ["2", "10"] and labels == [1, 0, 1]
    texts, labels, names = read_labelled_file(_write(tmp_path, "m.tsv", b"spam\tx\nham\ty\n"))
    assert names == ["ham", "spam"] and labels == [1, 0]
    with pytest.raises(DataFileError, match="at least two labels"):
        read_labelled_file(_write(tmp_path, "one.tsv", b"a\tx\na\ty\n"))
    with pytest.raises(DataFileError, match="line 2: expected 'label<TAB>text', found an empty"):
        read_labelled_file(_write(tmp_path, "e.tsv", b"a\tx\nb\t  \n"))


def test_cli_lists_the_data_sets(capsys):
    from explorer.cli import main

    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in DATASETS) and "missing" not in out
