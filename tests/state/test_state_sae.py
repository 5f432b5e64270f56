"""SAE feature interventions in the session: recorded, described, saved in scenes."""

from __future__ import annotations

import torch

from explorer.analysis import AblateHead, record_intervened
from explorer.analysis.sae import FeatureAblate, FeatureSteer, SparseAutoencoder, save_sae, site_for
from explorer.state import Session, random_model
from explorer.state.interventions import describe, head_marks
from explorer.state.scene import apply_to_session, load_scene, save_scene, scene_from_session


def test_feature_interventions_compose_describe_and_travel_in_scenes(tmp_path):
    session = Session(random_model("decoder", 3), "the king sings .", "")
    assert session.record_now()
    clean = session.logits.clone()
    site, d = site_for(session.model, "blocks.0.resid_mlp")
    folder = str(save_sae(SparseAutoencoder(d, 4 * d, "topk", 4), tmp_path / "sae", site))
    steer = FeatureSteer(folder, 3, alpha=8.0, positions=(1,))
    assert session.add_intervention(AblateHead(1, 0))
    assert session.add_intervention(steer)
    assert not session.add_intervention(FeatureAblate(folder, 10_000))
    assert "feature 10000 does not exist" in session.message
    assert session.record_now()
    x = torch.tensor([session.request().x])
    expected, _ = record_intervened(session.model, x, interventions=[AblateHead(1, 0), steer])
    assert torch.equal(session.logits, expected) and not torch.equal(session.logits, clean)
    assert describe(steer) == "SAE feature 3 steered by α = 8 (layer 1 residual after MLP, " \
        "t = 2)"
    assert len(head_marks(session.cfg, session.interventions)) == 1
    path = tmp_path / "scene.json"
    save_scene(scene_from_session(session, view="step"), path)
    other = Session(random_model("decoder", 3), "", "")
    apply_to_session(other, load_scene(path))
    assert other.interventions == (AblateHead(1, 0), steer)
