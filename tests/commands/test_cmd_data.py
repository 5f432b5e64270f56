"""``transformer-explorer data``: alone it prints help; ``build`` writes where it is told and
never into an installed package."""

from __future__ import annotations

from pathlib import Path

import pytest

from explorer.cli import main
from explorer.data import builders, registry

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_writes(monkeypatch):
    """Fail the test if anything is written."""
    def write(name, out_dir):
        raise AssertionError(f"wrote {name} into {out_dir}")

    monkeypatch.setattr(builders, "write", write)


def test_data_alone_prints_help_and_builds_nothing(no_writes, capsys):
    assert main(["data"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: transformer-explorer data")
    assert "build" in out and "--out" in out


def test_build_refuses_to_rewrite_an_installed_package(tmp_path, monkeypatch, no_writes, capsys):
    installed = tmp_path / "venv" / "lib" / "site-packages" / "explorer" / "resources" / "data"
    installed.mkdir(parents=True)
    monkeypatch.setattr(registry, "data_root", lambda: installed)
    assert registry.checkout_data_root() is None
    assert main(["data", "build", "--only", "sentiment"]) == 2
    err = capsys.readouterr().err
    assert "installed package" in err and "--out DIR" in err
    assert list(installed.iterdir()) == []


def test_build_writes_to_out_in_an_installed_package(tmp_path, monkeypatch, capsys):
    installed = tmp_path / "site-packages" / "explorer" / "resources" / "data"
    installed.mkdir(parents=True)
    monkeypatch.setattr(registry, "data_root", lambda: installed)
    out = tmp_path / "mine"
    assert main(["data", "build", "--only", "sentiment", "--out", str(out)]) == 0
    assert sorted(p.name for p in (out / "sentiment").iterdir()) == [
        "test.tsv", "train.tsv", "valid.tsv"]
    assert list(installed.iterdir()) == []
    assert str(out) in capsys.readouterr().out


def test_build_defaults_to_the_checkouts_resources(tmp_path, monkeypatch):
    # the tests run from a checkout: its resources/data is the default
    assert registry.checkout_data_root() == (ROOT / "resources" / "data").resolve()
    checkout = tmp_path / "repo"
    data = checkout / "resources" / "data"
    data.mkdir(parents=True)
    (checkout / "explorer").mkdir()
    (checkout / "explorer" / "__init__.py").write_text("")
    (checkout / "pyproject.toml").write_text("[project]\n")
    monkeypatch.setattr(registry, "data_root", lambda: data)
    assert registry.checkout_data_root() is None  # no .git: an unpacked archive, not a checkout
    (checkout / ".git").mkdir()
    assert registry.checkout_data_root() == data.resolve()
