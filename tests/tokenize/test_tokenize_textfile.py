"""A user's training file: its lines, or a one-line reason it cannot be used."""

from __future__ import annotations

import os

import pytest

from explorer.tokenize.textfile import TextFileError, read_training_text


def test_reads_the_non_empty_lines(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("\ufeffone line\n\n  \nnaïve café\n", encoding="utf-8")
    assert read_training_text(p) == ["one line", "naïve café"]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "no such file"),
        (lambda p: p.mkdir(), "is a folder"),
        (lambda p: p.write_text(" \n\n"), "is empty"),
        (lambda p: p.write_bytes(b"PK\x03\x04\x00\x00binary"), "binary"),
        (lambda p: p.write_bytes(b"caf\xe9 latin-1"), "not UTF-8"),
        (lambda p: p.write_text("x" * 100), "at most"),
    ],
)
def test_a_bad_file_gets_a_one_line_reason(tmp_path, make, message):
    p = tmp_path / "data.txt"
    make(p)
    with pytest.raises(TextFileError, match=message) as info:
        read_training_text(p, max_bytes=50)
    assert "\n" not in str(info.value) and "data.txt" in str(info.value)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file(tmp_path):
    p = tmp_path / "secret.txt"
    p.write_text("text")
    p.chmod(0)
    with pytest.raises(TextFileError, match="cannot be read"):
        read_training_text(p)
