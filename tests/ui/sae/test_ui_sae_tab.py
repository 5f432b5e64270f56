"""The SAE tab: train in the window, open a feature, steer with it, the output changes."""

from __future__ import annotations

import torch

from explorer.analysis.sae import FeatureSteer
from tests.ui.conftest import WINDOW_TIMEOUT


def test_train_open_a_feature_and_steer_with_it(open_window, qtbot, tmp_path):
    window = open_window(arch="decoder", text="the king sings .")
    panel = window.panel("SAE")
    panel.saes_dir = tmp_path / "saes"
    v = panel.view
    assert v.site_box.currentData() == "blocks.1.resid_mlp"
    assert v.data_edit.text() == "grammar"
    v.steps_spin.setValue(4)
    v.expansion_spin.setValue(1)
    v.k_spin.setValue(4)
    window.show_tab("SAE")
    v.train_button.click()
    qtbot.waitUntil(lambda: panel.sae is not None and not panel.busy(),
                    timeout=WINDOW_TIMEOUT * 4)
    assert "FVU" in v.status.text() and (panel.folder / "cfg.json").is_file()
    assert v.table.rowCount() == panel.sae.d_sae
    feature = panel.feature
    assert feature is not None and "On your text" in v.detail.text()
    assert "Where it fires most" in v.detail.text() and "up:" in v.detail.text()
    v.table.selectRow(3)
    assert panel.feature == int(v.table.item(3, 0).text())
    clean = window.session.logits.clone()
    v.alpha_spin.setValue(30.0)
    v.steer_button.click()
    assert window.session.interventions == (
        FeatureSteer(str(panel.folder), panel.feature, alpha=30.0),)
    qtbot.waitUntil(lambda: window.session.trace is not None and
                    bool(window.session.trace.interventions), timeout=WINDOW_TIMEOUT)
    assert not torch.allclose(window.session.logits, clean)
    listed = window.panel("Interventions").view.list
    assert "steered by α = 30" in listed.item(0).text()
    assert v.stale.isHidden()
    with torch.no_grad():  # the model trains on (in place, as the Train tab does)
        window.session.model.unembed.W_u.weight.mul_(1.01)
    panel.weights_changed(window.session)
    assert not v.stale.isHidden() and "earlier weights" in v.stale.text()
