"""What the window tells about itself matches what it does and what README says: F1 lists
every key, the rooms table lists every room, the Ctrl+B tooltips say what README says."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtGui import QAction, QKeySequence

from explorer.ui.widgets.actions import ABLATE_KEY
from explorer.ui.window.menus import SHORTCUTS, shortcuts_html

ROOT = Path(__file__).resolve().parents[3]


def test_f1_lists_every_shortcut_of_the_window(open_window):
    window = open_window()
    listed = {key for _, _, keys in SHORTCUTS for key in keys}
    portable = QKeySequence.SequenceFormat.PortableText
    shortcuts = {seq.toString(portable): action.text() for action in
                 window.findChildren(QAction) for seq in action.shortcuts()}
    assert len(shortcuts) > 30
    missing = {key: text for key, text in shortcuts.items() if key not in listed}
    assert not missing, f"F1 does not list {missing}"
    assert QKeySequence(ABLATE_KEY).toString(portable) in listed  # the head grid's X
    html = shortcuts_html()
    assert all(f"<b>{shown}</b>" in html for shown, _, _ in SHORTCUTS)
    window.close()


def test_readme_rooms_table_lists_every_ui_room():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| folder | what it holds |"):]
    table = table[: table.index("\n\n")]
    rooms = {p.name for p in (ROOT / "explorer" / "ui").iterdir()
             if (p / "__init__.py").is_file()}
    assert rooms == set(re.findall(r"`ui/(\w+)/`", table))


def _words(text: str) -> str:
    return " ".join(text.split())


def test_the_ctrl_b_tooltips_say_what_readme_says(open_window):
    readme = _words((ROOT / "README.md").read_text(encoding="utf-8"))
    start = readme.index("**Ctrl+B** compares with a second text B")
    said = readme[start: readme.index(". ", start)]
    claims = ("the Attention and Lens tabs show A, B or A − B on one colour scale",
              "the Output tab B's probabilities beside A's with KL(P_A ‖ P_B)")
    assert all(claim in said for claim in claims), said
    window = open_window()
    for tip in (window.menus.compare_action.toolTip(), window.inputs.compare.toolTip()):
        assert all(claim in _words(tip) for claim in claims), tip
    window.close()
