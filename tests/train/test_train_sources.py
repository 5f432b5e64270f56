"""Data files: clear errors for empty, binary, non-UTF-8, malformed and too-short input."""

from __future__ import annotations

from pathlib import Path

import pytest

from explorer.train import TrainConfig, load_source, new_trainer


def write(tmp_path: Path, content: bytes | str, name: str = "data.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"  \n\t\n", "only whitespace"),
        (b"abc\x00\x01def", "not a text file"),
        (b"good line\nbad \xff byte\n", "line 2: not UTF-8 text"),
    ],
)
def test_unreadable_files(tmp_path, content, message) -> None:
    with pytest.raises(ValueError, match=message):
        load_source("next-token", write(tmp_path, content))


def test_missing_file_and_unknown_name(tmp_path) -> None:
    with pytest.raises(ValueError, match="no such file"):
        load_source("next-token", tmp_path / "none.txt")
    with pytest.raises(ValueError, match="neither a file nor a bundled data set"):
        load_source("next-token", "no-such-data-set")


def test_malformed_lines_name_the_line(tmp_path) -> None:
    with pytest.raises(ValueError, match="line 3: expected 'source<TAB>target', found no tab"):
        load_source("seq2seq", write(tmp_path, "a\tb\n\nno tab here\n"))
    with pytest.raises(ValueError, match="line 2: expected 'label<TAB>text'.*empty text"):
        load_source("classify", write(tmp_path, "pos\tgood\nneg\t \n"))
    with pytest.raises(ValueError, match="at least two labels"):
        load_source("classify", write(tmp_path, "pos\tgood\npos\tfine\n"))
    pairs = load_source("seq2seq", write(tmp_path, "a b\tb a\n\nc\td\n"))
    assert pairs.pairs == [("a b", "b a"), ("c", "d")]


def test_too_short_for_one_window(tmp_path) -> None:
    cfg = TrainConfig(task="next-token", steps=1, device="cpu")
    with pytest.raises(ValueError, match="too short: need at least 64"):
        new_trainer(write(tmp_path, "just a few characters"), cfg, "char", l_max=32)


def test_bundled_data_sets_by_name() -> None:
    from explorer.data import DATASETS

    grammar = load_source("next-token", "grammar")
    assert grammar.name == "grammar" and len(grammar.text) > 10_000
    pairs = load_source("seq2seq", "translation")
    assert len(pairs.pairs) > 100 and all(len(p) == 2 for p in pairs.pairs[:5])
    labelled = load_source("classify", "sentiment")
    assert labelled.label_names == list(DATASETS["sentiment"].label_names)
    assert {label for label, _ in labelled.labelled} <= set(labelled.label_names)
    with pytest.raises(ValueError, match="holds pairs, which task 'next-token' cannot"):
        load_source("next-token", "translation")


def test_stream_line_breaks_are_tokens_not_unknown() -> None:
    from explorer.train.runs import make_tokenizer

    tok = make_tokenizer("char", load_source("next-token", "grammar"))
    ids = tok.encode("a .\nthe").ids
    assert tok.special_ids["unk"] not in ids
    assert tok.decode(tok.encode("\n").ids) == "\n"


def test_lines_of_a_long_text_are_read_lazily_and_equal_splitlines(monkeypatch):
    import types

    from explorer.train import sources

    monkeypatch.setattr(sources, "LINE_PIECE", 7)
    text = "ab\r\ncd\n\nefghijklmnop\rq\u2028r\n" * 5 + "tail"
    got = sources.DataSource("next-token", "t", text=text).texts()
    assert isinstance(got, types.GeneratorType)
    assert list(got) == [*text.splitlines(), "\n"]
