"""The Circuit tab in the real window: it builds, runs off the GUI thread, its slider
changes the edges drawn, a node click opens the head, and it exports."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt

from explorer.analysis.graph import Node
from explorer.state.scene import Scene
from tests.ui.conftest import WINDOW_TIMEOUT


def test_the_circuit_view_finds_draws_and_opens(open_window, qtbot, tmp_path):
    window = open_window(text="the king sings .")
    s = window.session
    panel = window.panel("Circuit")
    v = panel.view
    window.tabs.setCurrentWidget(panel.widget)
    assert not panel.start() and "Ctrl+B" in v.note.text()
    window.menus.compare_action.trigger()
    qtbot.keyClicks(window.inputs.compare, "the kong sings .")
    qtbot.waitUntil(lambda: s.compare.ready and s.compare.text == "the kong sings .",
                    timeout=WINDOW_TIMEOUT)
    v.target_edit.setText("s")
    v.other_edit.setText("x")
    assert panel.start(), v.note.text()
    assert v.cancel_button.isEnabled() and not v.run_button.isEnabled()
    qtbot.waitUntil(lambda: not panel.busy(), timeout=120_000)
    run = v.run
    assert run is not None, v.note.text()
    assert run.curve[0] == (0, 0.0) and run.curve[-1] == (len(run.ranked), 1.0)
    assert set(run.exact) == set(run.estimate) == {"resid", "attn_out", "mlp_out", "head_out"}
    names = [item.name() for item in v.scatter_plot.getPlotItem().listDataItems()]
    assert any(name and name.startswith("head_out  r = ") for name in names)
    # the slider draws the circuit of each size on the curve
    v.slider.setValue(0)
    assert v.drawn_edges() == 0 and v.size_label.text().startswith("0/")
    v.slider.setValue(v.slider.maximum())
    assert v.drawn_edges() == len(run.ranked)
    v.slider.setValue(3)
    assert v.drawn_edges() == run.curve[3][0]
    # a click on a head node opens its pattern
    qtbot.mouseClick(v.graph_plot.viewport(), Qt.MouseButton.LeftButton,
                     pos=v.node_point(Node("head", 1, 2)))
    assert (s.steps[s.step_index].name, s.head) == ("blocks.1.attn.pattern", 2), \
        v.node_point(Node("head", 1, 2))
    assert window.tabs.currentWidget() is window.panel("Attention").widget
    v.node_clicked.emit(Node("mlp", 0))
    assert s.steps[s.step_index].name == "blocks.0.mlp.out"
    # a scene keeps the method, tokens and size, and reopens them
    fields = panel.scene_fields()
    assert fields["view"] == "circuit" and fields["view_options"]["edges"] == run.curve[3][0]
    assert fields["view_options"]["target"] == "s"
    fields["view_options"].update(method="eap-ig", steps=2, edges=run.curve[5][0])
    window.tabs.setCurrentWidget(panel.widget)
    panel.show_scene_view("circuit", Scene(text=s.text, compare=s.compare.text,
                                           view="circuit", view_options=fields["view_options"]))
    qtbot.waitUntil(lambda: not panel.busy(), timeout=120_000)
    assert v.run is not run and v.method_box.currentData() == "eap-ig", v.note.text()
    assert v.slider.value() == 5 and v.drawn_edges() == v.run.curve[5][0]
    # exports: the picture through the window's export (the view describes itself), JSON
    parts = v.export_parts()
    assert parts.target is v.body and "recovered" in parts.series
    path = tmp_path / "circuit.json"
    panel.export_json(str(path))
    data = json.loads(path.read_text())
    assert data["faithfulness"][-1]["recovered"] == 1.0 and data["edges"][0]["from"]


def test_cancel_stops_the_run(open_window, qtbot):
    window = open_window(text="the king sings .")
    s = window.session
    panel = window.panel("Circuit")
    window.menus.compare_action.trigger()
    qtbot.keyClicks(window.inputs.compare, "the kong sings .")
    qtbot.waitUntil(lambda: s.compare.ready and s.compare.text == "the kong sings .",
                    timeout=WINDOW_TIMEOUT)
    panel.view.target_edit.setText("s")
    panel.view.other_edit.setText("x")
    assert panel.start()
    panel.cancel()
    assert not panel.busy() and panel.view.run_button.isEnabled()
