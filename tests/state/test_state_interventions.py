"""The session's active interventions: recording, the master switch, the effect, scenes."""

from __future__ import annotations

import json

import pytest
import torch

from explorer.analysis import AblateHead, AblateMLP, KnockOutKey, Patch, record_intervened
from explorer.state import Session, random_model
from explorer.state.scene import (
    Scene,
    apply_to_session,
    load_scene,
    resolve_model,
    save_scene,
    scene_from_session,
)
from explorer.trace import record

TEXT = "the king sings ."


@pytest.fixture
def session() -> Session:
    s = Session(random_model("decoder", 3), TEXT, "")
    assert s.record_now()
    return s


def _x(session):
    return torch.tensor([session.request().x])


def test_an_added_intervention_is_recorded_and_the_clean_output_kept(session):
    clean = session.logits.clone()
    changes = []
    session.interventions_changed.connect(lambda: changes.append(1))
    generation = session.generation
    every = [AblateHead(1, h) for h in range(session.cfg.n_heads)] + [AblateMLP(0)]
    for iv in every:
        assert session.add_intervention(iv)
    assert len(changes) == len(every) and session.generation > generation
    assert session.record_now()
    assert session.trace.interventions == tuple(every)
    expected, trace = record_intervened(session.model, _x(session), interventions=every)
    assert torch.equal(session.logits, expected)
    assert torch.equal(session.trace["blocks.1.attn.head_out"], trace["blocks.1.attn.head_out"])
    assert torch.equal(session.clean_logits, clean)
    effect = session.effect()
    assert effect is not None and effect.kl > 0 and effect.position == clean.shape[1] - 1
    assert effect.delta_p == pytest.approx(
        float(torch.softmax(expected[0, -1].double(), -1)[effect.target]
              - torch.softmax(clean[0, -1].double(), -1)[effect.target]), abs=1e-6)


def test_the_master_switch_and_removal_return_to_the_clean_run(session):
    clean = session.logits.clone()
    assert session.add_intervention(AblateMLP(1))
    assert session.add_intervention(AblateHead(0, 1, "mean"))
    session.record_now()
    assert not torch.equal(session.logits, clean)
    session.set_interventions_enabled(False)
    assert session.record_now()
    assert torch.equal(session.logits, clean) and session.effect() is None
    assert session.trace.interventions == () and len(session.interventions) == 2
    session.set_interventions_enabled(True)
    session.remove_intervention(0)
    session.record_now()
    assert session.trace.interventions == (AblateHead(0, 1, "mean"),)
    session.clear_interventions()
    session.record_now()
    assert torch.equal(session.logits, clean) and session.interventions == ()


def test_editing_the_text_keeps_the_interventions_and_never_splices_them(session):
    session.add_intervention(AblateHead(1, 0))
    session.record_now()
    session.set_text(TEXT + " the queen")
    assert session.record_now()
    expected, _ = record_intervened(session.model, _x(session),
                                    interventions=[AblateHead(1, 0)])
    assert torch.equal(session.logits, expected) and session.trace.first_new == 0
    session.set_interventions_enabled(False)  # the intervened trace is not continued
    session.set_text(TEXT + " the queen sings")
    assert session.record_now()
    assert torch.equal(session.logits, record(session.model, _x(session))[0])


def test_interventions_that_do_not_fit_are_refused_with_a_sentence(session):
    assert not session.add_intervention(AblateHead(0, 99))
    assert "head 99 does not exist" in session.message and session.interventions == ()
    assert session.add_intervention(KnockOutKey(0, 12))
    session.set_text("the")
    assert not session.record_now()
    assert "an intervention does not fit" in session.message
    assert "key position 12" in session.message


def test_a_patch_from_a_second_text(session):
    source = session.source_ids("the kind sings .")
    assert len(source) == len(session.request().x)
    assert session.add_intervention(Patch("resid", 0, source))
    session.record_now()
    assert torch.equal(session.logits, record(session.model, torch.tensor([source]))[0])
    assert not session.add_intervention(Patch("resid", 0, session.source_ids("the")))
    assert "same length" in session.message


def test_a_new_model_clears_the_interventions(session):
    session.add_intervention(AblateHead(0, 0))
    changes = []
    session.interventions_changed.connect(lambda: changes.append(1))
    session.set_model(random_model("decoder", 4))
    assert session.interventions == () and changes == [1]


def test_interventions_survive_a_scene_round_trip(session, tmp_path):
    source = session.source_ids("the kind sings .")
    every = [AblateHead(1, 2, "mean"), Patch("head_out", 0, source, (2, 3), head=1),
             KnockOutKey(1, 4)]
    for iv in every:
        assert session.add_intervention(iv)
    session.set_interventions_enabled(False)
    session.set_interventions_enabled(True)
    session.record_now()
    scene = scene_from_session(session)
    path = tmp_path / "s.json"
    save_scene(scene, path)
    assert json.loads(path.read_text())["interventions"][0]["kind"] == "ablate_head"
    again = load_scene(path)
    assert again == scene
    fresh = Session(resolve_model(again), "", "")
    assert apply_to_session(fresh, again)
    assert fresh.interventions == tuple(every) and fresh.interventions_enabled
    assert torch.equal(fresh.logits, session.logits)
    assert torch.equal(fresh.clean_logits, session.clean_logits)
    off = Scene(**{**again.__dict__, "interventions_enabled": False})
    apply_to_session(fresh, off)
    assert torch.equal(fresh.logits, session.clean_logits)


@pytest.mark.parametrize(("field", "fragment"), [
    ({"interventions": [{"kind": "melt"}]}, "interventions: unknown intervention kind"),
    ({"interventions": {"kind": "ablate_mlp"}}, "must be a list"),
    ({"interventions_enabled": "yes"}, "true or false"),
])
def test_bad_interventions_in_a_scene_name_the_field(tmp_path, field, fragment):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"version": 1, "arch": "decoder", "text": ""} | field))
    with pytest.raises(ValueError, match=fragment):
        load_scene(path)
