"""The window and the Train tab are compositions of small parts they own (issue 25): no
mixins, nothing sets attributes on the window (or the Train panel) from outside its class,
no import circle through the window."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
WINDOW = ROOT / "explorer" / "ui" / "window"
UI = ROOT / "explorer" / "ui"
WINDOW_NAMES = {"window", "w", "win", "main_window"}
PANEL_NAMES = {"panel", "p"}


def _names_window(node: ast.expr, names: set[str] = WINDOW_NAMES) -> bool:
    """``window``, ``w``, ``self.window``, ``self._window``."""
    if isinstance(node, ast.Name):
        return node.id in names
    return (isinstance(node, ast.Attribute) and node.attr.lstrip("_") in names
            and isinstance(node.value, ast.Name) and node.value.id == "self")


def _sets_on_window(tree: ast.AST, names: set[str] = WINDOW_NAMES,
                    owner: str = "MainWindow") -> list[int]:
    """Lines that assign an attribute of the window (``window.x = …``, ``setattr(window,
    …)``), outside ``MainWindow``'s own methods (or of ``names`` outside ``owner``)."""
    lines = []
    for cls in [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]:
        if cls.name == owner:
            for node in ast.walk(cls):
                node.in_main_window = True  # type: ignore[attr-defined]
    for node in ast.walk(tree):
        if getattr(node, "in_main_window", False):
            continue
        targets = []
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            targets = [t for e in targets for t in (e.elts if isinstance(e, ast.Tuple) else [e])]
            if any(isinstance(t, ast.Attribute) and _names_window(t.value, names)
                   for t in targets):
                lines.append(node.lineno)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id == "setattr" and node.args
              and _names_window(node.args[0], names)):
            lines.append(node.lineno)
    return lines


def test_nothing_sets_attributes_on_the_window_from_outside():
    offenders = {}
    for path in sorted(UI.rglob("*.py")):
        lines = _sets_on_window(ast.parse(path.read_text(encoding="utf-8")))
        if lines:
            offenders[str(path.relative_to(ROOT))] = lines
    assert offenders == {}


def test_nothing_sets_attributes_on_the_train_panel_from_outside():
    offenders = {}
    for path in sorted((UI / "train").glob("*.py")):
        lines = _sets_on_window(ast.parse(path.read_text(encoding="utf-8")), PANEL_NAMES,
                                "TrainPanel")
        if lines:
            offenders[str(path.relative_to(ROOT))] = lines
    assert offenders == {}


def test_the_check_finds_a_window_attribute_set_from_outside():
    tree = ast.parse("def build(window):\n    window.arch_box = 1\n"
                     "class Part:\n    def f(self):\n        self.window.label = 2\n"
                     "        setattr(self.window, 'x', 3)\n"
                     "class MainWindow:\n    def f(self):\n        self.label = 4\n")
    assert _sets_on_window(tree) == [2, 5, 6]


def test_main_window_has_no_mixins_and_owns_its_parts():
    from PySide6.QtWidgets import QMainWindow

    from explorer.ui.window.main_window import MainWindow

    assert MainWindow.__bases__ == (QMainWindow,)


def test_the_train_panel_has_no_mixins():
    from PySide6.QtWidgets import QWidget

    from explorer.ui.train.panel import TrainPanel

    assert TrainPanel.__bases__ == (QWidget,)


def test_train_modules_stay_small():
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines())
             for p in (UI / "train").glob("*.py")}
    assert max(sizes.values()) <= 400, sizes


def test_window_modules_stay_small():
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines())
             for p in WINDOW.glob("*.py")}
    assert max(sizes.values()) <= 400, sizes


@pytest.mark.parametrize("importer, imported", [
    ("explorer.ui.window.menus", "explorer.ui.window.main_window"),
    ("explorer.ui.window.model_dialog", "explorer.ui.window.menus"),
    ("explorer.ui.window.model_dialog", "explorer.ui.window.main_window"),
    ("explorer.ui.window.hosting", "explorer.ui.window.main_window"),
    ("explorer.ui.window.loading", "explorer.ui.window.main_window"),
    ("explorer.ui.window.layout", "explorer.ui.window.main_window"),
    ("explorer.ui.window.tracing", "explorer.ui.window.main_window"),
])
def test_no_import_circle_through_the_window(importer, imported):
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("explorer")
    assert graph.find_shortest_chain(importer=importer, imported=imported) is None
