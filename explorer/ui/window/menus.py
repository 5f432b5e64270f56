"""The window's toolbars, menus and keyboard shortcuts.

Stepping keys are window-wide actions; text boxes take the same keys for editing first
(Qt's shortcut override), so typing never steps. Esc in a text box hands the keys back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QTextCursor
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QLabel,
    QMenu,
    QMessageBox,
    QToolBar,
    QToolButton,
)

from explorer.ui.widgets.actions import ABLATE_KEY, make_action
from explorer.ui.window.archs import ARCH_ITEMS
from explorer.ui.window.model_label import ModelLabel
from explorer.ui.window.open_menu import OpenModelMenu

Window = Any  # ``main_window.MainWindow``, not imported (menus must not import the window)

JUMP_KEYS = (  # single keys, as the digits: a text box with the cursor takes them first
    ("attention", "Next attention pattern", "A", "The next attention pattern (A)"),
    ("mlp", "Next MLP", "M", "The next MLP block (M)"),
    ("output", "Output distribution", "O", "The output distribution (O)"),
    ("tokens", "Token ids", "T", "The token ids (T)"),
)
# F1's list: (keys as shown, what they do, the key sequences of the row in Qt's portable
# text); a test checks that every shortcut of the window is in some row.
SHORTCUTS = (
    ("→", "next step", ("Right",)), ("←", "previous step", ("Left",)),
    ("Home / End", "first / last step", ("Home", "End")),
    ("PageDown / PageUp", "next / previous layer or block", ("PgDown", "PgUp")),
    ("1 … 9", "go to layer 1 … 9 (again: the decoder's layer of that number)",
     tuple("123456789")),
    *((key, tip.removesuffix(f" ({key})").replace("The", "the", 1), (key,))
      for _, _, key, tip in JUMP_KEYS),
    ("I", "on a norm step: the next line of Algorithm 6's inside (m, v, …)", ("I",)),
    (QKeySequence(ABLATE_KEY).toString(), "on a head in the Attention tab's grid: "
     "zero-ablate it (the Interventions tab lists it; Delete there removes it)",
     (QKeySequence(ABLATE_KEY).toString(),)),
    ("Esc", "leave the text box, so the keys above step again; leave presentation mode",
     ("Esc",)),
    ("Ctrl+L", "edit the text", ("Ctrl+L",)),
    ("Ctrl+B", "compare with a second text B (again: stop)", ("Ctrl+B",)),
    ("Ctrl+O", "open a model folder", ("Ctrl+O",)),
    ("Ctrl+N", "new model (size and variants)", ("Ctrl+N",)), ("Ctrl+Q", "quit", ("Ctrl+Q",)),
    ("F5 / F11", "presentation mode (Esc leaves)", ("F5", "F11")),
    ("Ctrl+plus / minus / 0", "zoom", ("Ctrl++", "Ctrl+=", "Ctrl+-", "Ctrl+0")),
    ("Ctrl+Shift+S / O", "save / open a scene", ("Ctrl+Shift+S", "Ctrl+Shift+O")),
    ("Ctrl+PageDown / PageUp", "next / previous scene of a lecture",
     ("Ctrl+PgDown", "Ctrl+PgUp")),
    ("Ctrl+E", "export the view (PNG, SVG, CSV, NPY)", ("Ctrl+E",)),
    ("Ctrl+Shift+C", "copy the view", ("Ctrl+Shift+C",)),
    ("F1", "this list", ("F1",)),
)


@dataclass
class Toolbars:
    """The Model and Step toolbars' widgets and actions, owned by the window."""

    arch_box: QComboBox
    model_label: ModelLabel
    step_actions: dict[str, QAction]
    jump_actions: dict[str, QAction]
    step_counter: QLabel


@dataclass
class Menus:
    """What the window's menus keep: Ctrl+B's action and the View menu."""

    compare_action: QAction
    view_menu: QMenu


def _action(window: Window, text: str, slot, keys=None, tip: str = "") -> QAction:
    return make_action(window, text, slot, keys, tip)


def _session_call(window: Window, method: str, *args):
    return lambda: window.with_session(method, *args)


def build_toolbars(window: Window) -> Toolbars:
    model_bar = QToolBar("Model", window)
    model_bar.setObjectName("toolbar-model")
    model_bar.addWidget(QLabel(" Architecture: "))
    arch_box = QComboBox()
    for arch, label in ARCH_ITEMS:
        arch_box.addItem(label, arch)
    arch_box.setToolTip("Switch the architecture: a fresh seeded model (or the bundled "
                        "trained one) of that kind; your text is kept")
    arch_box.activated.connect(
        lambda i: window.loading.set_architecture(arch_box.itemData(i)))
    arch_box.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
    model_bar.addWidget(arch_box)
    model_label = ModelLabel()
    model_bar.addWidget(model_label)
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, model_bar)

    step_bar = QToolBar("Step", window)
    step_bar.setObjectName("toolbar-step")
    step_actions = {
        "first": _action(window, "◀◀ First", _session_call(window, "first_step"), "Home",
                         "First step (Home)"),
        "prev_layer": _action(window, "▲ Layer", _session_call(window, "prev_group"),
                              "PgUp", "Previous layer or block (PageUp)"),
        "prev": _action(window, "◀ Back", _session_call(window, "step_by", -1), "Left",
                        "Previous step (←)"),
        "next": _action(window, "Next ▶", _session_call(window, "step_by", 1), "Right",
                        "Next step (→)"),
        "next_layer": _action(window, "Layer ▼", _session_call(window, "next_group"),
                              "PgDown", "Next layer or block (PageDown)"),
        "last": _action(window, "Last ▶▶", _session_call(window, "last_step"), "End",
                        "Last step (End)"),
    }
    for action in step_actions.values():
        step_bar.addAction(action)
    for n in range(1, 10):
        _action(window, f"Layer {n}", _session_call(window, "jump_to_layer", n), str(n),
                f"Go to layer {n} ({n})")
    jump_actions = {
        target: _action(window, text, _session_call(window, "jump_to_next", target), key, tip)
        for target, text, key, tip in JUMP_KEYS
    }
    jump_actions["inside"] = _action(
        window, "Inside the norm (Algorithm 6)", window.step_view.next_inside_part, "I",
        "On a norm step: m, v, the normalised X and the result, one line at a time (I)")
    step_counter = QLabel("  Step – / –  ")
    step_counter.setToolTip("Which step of the forward pass is shown")
    step_bar.addWidget(step_counter)
    for child in step_bar.findChildren(QToolButton):
        child.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    window.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, step_bar)
    return Toolbars(arch_box, model_label, step_actions, jump_actions, step_counter)


def _follow_run(window: Window) -> None:
    path = QFileDialog.getExistingDirectory(
        window, "Follow a run folder (metrics.jsonl, checkpoint/, snapshots/), read-only")
    if path:
        window.hosting.follow_run(path)


def _new_model(window: Window) -> None:
    from explorer.ui.window.model_dialog import NewModelDialog

    arch = window.session.arch if window.session is not None else "decoder"
    dialog = NewModelDialog(arch, window)
    if dialog.exec():
        choice = dialog.choice()
        window.loading.new_model(choice.pop("arch"), choice.pop("seed"), **choice)


def _about(window: Window) -> None:
    QMessageBox.about(
        window, "About Transformer Explorer",
        "<h3>Transformer Explorer</h3><p>See, step through and train the algorithms of "
        "<i>Formal Algorithms for Transformers</i> (Mary Phuong and Marcus Hutter, 2022, "
        "arXiv 2207.09238).</p><p>Every view is one step of the paper's Algorithms 1-10, "
        "in its notation: tokens along the columns, X ∈ ℝ<sup>d×ℓ</sup>.</p>")


def shortcuts_html() -> str:
    """F1's table of every key."""
    rows = "".join(f"<tr><td><b>{k}</b></td><td>&nbsp;{v}</td></tr>" for k, v, _ in SHORTCUTS)
    return f"<table>{rows}</table>"


def _shortcuts(window: Window) -> None:
    QMessageBox.information(window, "Keyboard shortcuts", shortcuts_html())


def _edit_text(window: Window) -> None:
    window.input_dock.show()
    window.inputs.text.setFocus()
    window.inputs.text.moveCursor(QTextCursor.MoveOperation.End)  # to go on typing


def _side_by_side(window: Window) -> None:
    if any(p.title == "Side by side" for p in window.panels):
        window.show_tab("Side by side")
    else:
        window.show_status("The side-by-side view appears once the model is loaded.")


def _toggle_compare(window: Window, shown: bool) -> None:
    window.inputs.set_compare_visible(shown)
    if shown:
        window.input_dock.show()
        window.inputs.compare.setFocus()
        window.inputs.compare.moveCursor(QTextCursor.MoveOperation.End)


def build_menus(window: Window, bars: Toolbars) -> Menus:
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addMenu(OpenModelMenu(window, window.loading.open_model_folder))
    file_menu.addAction(_action(window, "New model…", lambda: _new_model(window), "Ctrl+N",
                                "A fresh seeded model: size, norm, positions, activation"))
    file_menu.addAction(_action(window, "Follow a run…", lambda: _follow_run(window), None,
                                "Watch a run another process writes (the command line, "
                                "torchrun): curves, rate and ETA live, each new checkpoint "
                                "in every view; nothing is written into its folder"))
    file_menu.addSeparator()
    file_menu.addAction(_action(window, "Quit", window.close, "Ctrl+Q", "Quit (Ctrl+Q)"))

    step_menu = bar.addMenu("&Step")
    for action in bars.step_actions.values():
        step_menu.addAction(action)
    step_menu.addSeparator()
    for action in bars.jump_actions.values():
        step_menu.addAction(action)
    step_menu.addSeparator()
    step_menu.addAction(_action(window, "Edit the text", lambda: _edit_text(window), "Ctrl+L",
                                "Put the cursor in the text box (Esc leaves it)"))
    compare_action = _action(
        window, "Compare with a second text B", lambda on: _toggle_compare(window, on),
        "Ctrl+B", "A second text B: the Attention and Lens tabs show A, B or A − B on one "
        "colour scale, the Output tab B's probabilities beside A's with KL(P_A ‖ P_B) "
        "(Ctrl+B again ends the comparison)")
    compare_action.setCheckable(True)
    compare_action.setChecked(window.inputs.compare_visible())
    step_menu.addAction(compare_action)

    view_menu = bar.addMenu("&View")
    for dock in (window.input_dock, window.steps_dock, window.overview_dock, window.paper_dock,
                 *window.hosting.panel_docks.values()):
        action = dock.toggleViewAction()
        action.setToolTip(f"Show or hide the {dock.windowTitle()} panel")
        view_menu.addAction(action)
    view_menu.addAction(_action(
        window, "Side by side", lambda: _side_by_side(window), None,
        "The decoder, encoder and encoder–decoder on the same text, stepping together by "
        "the paper's line"))
    view_menu.addAction(_action(window, "Reset layout", window.layout_ctl.reset, None,
                                "Every panel and toolbar back in its first place and size"))

    help_menu = bar.addMenu("&Help")
    help_menu.addAction(_action(window, "Keyboard shortcuts", lambda: _shortcuts(window), "F1"))
    help_menu.addAction(_action(window, "About Transformer Explorer", lambda: _about(window)))
    return Menus(compare_action, view_menu)
