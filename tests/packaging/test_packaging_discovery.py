"""The distribution holds every package under explorer/ and the top-level resources/ as
``explorer.resources``: a new feature folder cannot be forgotten by the wheel (as
``explorer.ui.lens`` and ``explorer.ui.interventions`` once were) nor by the bundle."""

from __future__ import annotations

import os
import runpy
from pathlib import Path

import setuptools
from setuptools.config.pyprojecttoml import read_configuration

ROOT = Path(__file__).resolve().parents[2]
RESOURCE_KINDS = ("models", "fonts", "data", "scenes", "icons")


def _python_folders() -> dict[str, Path]:
    """Dotted name -> folder, for every folder under explorer/ that holds Python files
    (the ignored explorer/resources link of a worktree is not followed)."""
    found = {}
    for folder, dirs, files in os.walk(ROOT / "explorer"):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        if any(f.endswith(".py") for f in files):
            found[".".join(Path(folder).relative_to(ROOT).parts)] = Path(folder)
    return found


def _setup_packages(monkeypatch) -> list[str]:
    """The ``packages`` that setup.py hands to setuptools when a wheel is built."""
    captured = {}
    monkeypatch.setattr(setuptools, "setup", lambda **kw: captured.update(kw))
    monkeypatch.chdir(ROOT)
    runpy.run_path(str(ROOT / "setup.py"), run_name="__main__")
    return captured["packages"]


def test_every_python_folder_is_a_package():
    # a folder without __init__.py would be a namespace package that discovery skips
    missing = [name for name, folder in _python_folders().items()
               if not (folder / "__init__.py").is_file()]
    assert missing == []


def test_the_build_discovers_every_package_and_the_resources(monkeypatch):
    packages = _setup_packages(monkeypatch)
    assert set(packages) == set(_python_folders()) | {"explorer.resources"}
    assert len(packages) == len(set(packages))
    assert {"explorer.ui.lens", "explorer.ui.interventions"} <= set(packages)


def test_resources_install_as_explorer_resources_with_all_their_files():
    tool = read_configuration(ROOT / "pyproject.toml")["tool"]["setuptools"]
    assert tool.get("packages") is None, "packages are discovered by setup.py, not listed by hand"
    assert tool["package-dir"] == {"explorer.resources": "resources"}
    assert tool["package-data"]["explorer.resources"] == ["**/*"]
    assert (ROOT / "resources" / "__init__.py").is_file()
    for kind in RESOURCE_KINDS:
        assert any((ROOT / "resources" / kind).iterdir()), kind


def test_the_bundle_collects_every_explorer_module():
    source = (ROOT / "packaging" / "transformer-explorer.spec").read_text(encoding="utf-8")
    assert 'collect_submodules("explorer"' in source
    assert '"explorer.ui.' not in source  # no hand-written list of feature packages


def test_ci_builds_and_smoke_tests_the_wheel():
    import subprocess

    run = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    smoke = ROOT / ".ci" / "wheel-smoke"
    assert "bash .ci/wheel-smoke" in run
    assert subprocess.run(["bash", "-n", str(smoke)]).returncode == 0
    text = smoke.read_text(encoding="utf-8")
    for needed in ("python -m venv", "test-command", "walk_packages", "--quit-after",
                   " inspect ", " render ", "analyze lens", "Traceback"):
        assert needed in text, needed
    assert "venv --system-site-packages" not in text
