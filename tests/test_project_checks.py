"""Project-wide checks: the layer contracts (import-linter) and style (ruff)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> list[str]:
    exe = shutil.which(name) or str(Path(sys.executable).with_name(name))
    if not Path(exe).exists():
        pytest.fail(f"{name} is not installed: install the test extra (pip install -e '.[test]')")
    return [exe]


def test_layer_contracts_hold():
    result = subprocess.run(_tool("lint-imports"), cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_is_clean():
    result = subprocess.run([*_tool("ruff"), "check", "explorer", "tests"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_readme_commands_are_what_ci_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "<!-- test-command -->" in readme and "<!-- app-command -->" in readme
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "test-command" in ci and "torch==2.13.0" in readme


def test_installs_stay_off_pyside6_6_12_0():
    """6.12.0 leaks references to True on every signal emit (a crash after ~100 s of live
    training on Python 3.11): pyproject's requirement must exclude it."""
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

    from packaging.requirements import Requirement

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pyside = [Requirement(d) for d in deps["project"]["dependencies"]
              if d.startswith("PySide6")]
    assert pyside and not pyside[0].specifier.contains("6.12.0")
    assert pyside[0].specifier.contains("6.11.3")


def test_no_import_of_the_project_is_guarded_by_except_import_error():
    """A broken install must fail loudly: no ``try: from explorer... except ImportError``
    (or a broader except) that would quietly fall back."""
    import ast

    guarded = []
    for path in sorted((ROOT / "explorer").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Try):
                continue
            types = [h.type for h in node.handlers]
            names = {e.id for t in types if t is not None
                     for e in (t.elts if isinstance(t, ast.Tuple) else [t])
                     if isinstance(e, ast.Name)}
            if None not in types and not names & {"ImportError", "ModuleNotFoundError",
                                                  "Exception", "BaseException"}:
                continue
            for inner in (n for statement in node.body for n in ast.walk(statement)):
                modules = ([inner.module or ""] if isinstance(inner, ast.ImportFrom) else
                           [a.name for a in inner.names] if isinstance(inner, ast.Import)
                           else [])
                if any(m == "explorer" or m.startswith("explorer.") for m in modules):
                    guarded.append(f"{path.relative_to(ROOT)}:{inner.lineno}")
    assert not guarded, guarded


def test_every_top_level_definition_is_used():
    """No dead code: each module-level function, class and constant of ``explorer`` is
    named somewhere else in the package or the tests."""
    import ast
    import re
    from collections import Counter

    sources = [*(ROOT / "explorer").rglob("*.py"), *(ROOT / "tests").rglob("*.py")]
    words = Counter(w for p in sources for w in re.findall(r"\w+", p.read_text("utf-8")))
    unused = []
    for path in sorted((ROOT / "explorer").rglob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names = [node.name]
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = [t.id for t in targets if isinstance(t, ast.Name)]
            else:
                continue
            unused += [f"{path.relative_to(ROOT)}: {n}" for n in names
                       if words[n] <= 1 and not n.startswith("__")]
    assert not unused, unused
