"""Scenes round-trip the session's state; bad files give errors naming the file; lectures."""

from __future__ import annotations

import json

import pytest

from explorer.state import Session, random_model
from explorer.state.lecture import Lecture, load_lecture, save_lecture
from explorer.state.scene import (
    MissingModelError,
    Scene,
    apply_to_session,
    load_scene,
    model_missing,
    resolve_model,
    save_scene,
    scene_from_session,
)


@pytest.fixture(scope="module")
def session() -> Session:
    s = Session(random_model("decoder", 3), "the king sings .", "")
    assert s.record_now()
    s.select_name("blocks.1.attn.pattern")
    s.select_head(2)
    return s


def test_round_trip_gives_the_same_state(session, tmp_path):
    scene = scene_from_session(session, view="attention", zoom=1.5, theme="dark")
    assert (scene.model, scene.seed, scene.step, scene.layer, scene.head) == (
        None, 3, "blocks.1.attn.pattern", 1, 2)
    path = tmp_path / "s.json"
    save_scene(scene, path)
    again = load_scene(path)
    assert again == scene
    fresh = Session(resolve_model(again), "", "")
    assert apply_to_session(fresh, again)
    assert fresh.text == session.text and fresh.step.name == session.step.name
    assert fresh.head == session.head
    assert scene_from_session(fresh, view="attention", zoom=1.5, theme="dark") == scene
    # same seed, same weights: the recorded tensors agree
    name = "blocks.1.attn.pattern"
    assert (fresh.trace[name] == session.trace[name]).all()


@pytest.mark.parametrize(("text", "fragment"), [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "JSON object"),
    (json.dumps({"version": 1, "arch": "decoder"}), "missing field: text"),
    (json.dumps({"version": 9, "arch": "decoder", "text": ""}), "version 9"),
    (json.dumps({"version": 1, "arch": "gpt", "text": ""}), "arch 'gpt'"),
    (json.dumps({"version": 1, "arch": "decoder", "text": "", "head": -1}), "head"),
    (json.dumps({"version": 1, "arch": "decoder", "text": "", "colour": 1}), "unknown field"),
])
def test_bad_scene_files_name_the_file(tmp_path, text, fragment):
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=fragment) as info:
        load_scene(path)
    assert str(path) in str(info.value)


def test_missing_file_and_missing_model_folder(tmp_path):
    with pytest.raises(ValueError, match="cannot read"):
        load_scene(tmp_path / "nope.json")
    scene = Scene(arch="decoder", text="hi", model=str(tmp_path / "gone"))
    assert model_missing(scene)
    with pytest.raises(MissingModelError, match="does not exist") as info:
        resolve_model(scene, "talk.json")
    assert info.value.path == str(tmp_path / "gone")


def test_lecture_walks_in_order(tmp_path):
    files = []
    for i in range(3):
        path = tmp_path / f"{i}.json"
        save_scene(Scene(text=f"scene {i}"), path)
        files.append(path)
    save_lecture(Lecture(files, "Talk"), tmp_path / "talk.json")
    lecture = load_lecture(tmp_path / "talk.json")
    assert lecture.title == "Talk" and lecture.current == files[0]
    assert lecture.previous() is None
    assert lecture.next() == files[1] and lecture.next() == files[2]
    assert lecture.next() is None and lecture.position() == "scene 3 / 3"
    assert lecture.previous() == files[1]
    files[2].unlink()
    with pytest.raises(ValueError, match="not found"):
        load_lecture(tmp_path / "talk.json")


def test_scene_files_count_layers_and_heads_from_1(tmp_path):
    scene = Scene(arch="decoder", text="hi", step="blocks.1.attn.pattern", layer=1, head=0,
                  view="timelapse", view_options={"layer": 0, "head": 1, "view": "both"})
    path = tmp_path / "s.json"
    save_scene(scene, path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["version"] == 2
    assert (data["layer"], data["head"]) == (2, 1)
    assert (data["view_options"]["layer"], data["view_options"]["head"]) == (1, 2)
    assert scene.view_options == {"layer": 0, "head": 1, "view": "both"}  # not changed
    assert load_scene(path) == scene


@pytest.mark.parametrize("version", [None, 1])
def test_old_scene_files_count_from_0_and_open_as_before(tmp_path, version):
    data = {"arch": "decoder", "text": "hi", "layer": 1, "head": 2,
            "view_options": {"layer": 1, "head": "induction"}}
    if version is not None:
        data["version"] = version
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    scene = load_scene(path)
    assert (scene.layer, scene.head) == (1, 2)
    assert scene.view_options == {"layer": 1, "head": "induction"}
    save_scene(scene, path)  # saved again: the new format, the same layer and head
    assert json.loads(path.read_text(encoding="utf-8"))["layer"] == 2
    assert load_scene(path) == scene


@pytest.mark.parametrize("field", ["layer", "head"])
def test_a_0_in_a_new_scene_file_names_the_rule(tmp_path, field):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"version": 2, "arch": "decoder", "text": "", field: 0}),
                    encoding="utf-8")
    with pytest.raises(ValueError, match=f"{field} must be a whole number ≥ 1.*from 1"):
        load_scene(path)


def test_the_bundled_scenes_are_in_the_current_format():
    from explorer.state.scene import SCENE_VERSION, bundled_scenes

    assert bundled_scenes()
    for path in bundled_scenes().values():
        assert json.loads(path.read_text(encoding="utf-8"))["version"] == SCENE_VERSION


def test_the_grokking_scene_loads_and_asks_for_the_grokking_preset():
    from explorer.state.scene import bundled_scenes
    from explorer.train.options import plan_run

    path = next(p for p in bundled_scenes().values() if p.name == "grokking.json")
    scene = load_scene(path)
    assert scene.view == "timelapse" and scene.text == "12 34 ="
    assert (scene.view_options["layer"], scene.view_options["head"]) == (0, 0)  # from 0 in
    plan = plan_run(scene.view_options["train"]["preset"], {})
    assert plan.config.task == "last-token" and plan.data == "modular"
