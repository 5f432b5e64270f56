"""SAEs in SAELens's layout: round trip, hand-written configurations, refused files."""

from __future__ import annotations

import json
import pickle

import pytest
import torch
from analysis_models import make_model
from safetensors.torch import save_file

from explorer.analysis.sae import SAEFileError, SparseAutoencoder, load_sae, save_sae, site_for
from explorer.analysis.sae.checkpoint import read_training, resume, save_training
from explorer.analysis.sae.stream import TokenWindows
from explorer.analysis.sae.training import SAETrainer, TrainSettings


@pytest.fixture(scope="module")
def model():
    return make_model("decoder")


def _trained_like(d_in: int, d_sae: int, arch: str = "topk", k: int | None = 4):
    sae = SparseAutoencoder(d_in, d_sae, arch, k, seed=5)
    with torch.no_grad():
        sae.b_enc.normal_()
        sae.b_dec.normal_()
        if arch == "jumprelu":
            sae.threshold.uniform_(0, 1)
    return sae


def test_round_trip_in_saelens_layout(tmp_path, model):
    site, d = site_for(model, "blocks.1.attn.head_out", 3)
    sae = _trained_like(d, 4 * d)
    folder = save_sae(sae, tmp_path / "s", site, "tiny", 24, "grammar")
    cfg = json.loads((folder / "cfg.json").read_text())
    assert cfg["architecture"] == "topk" and cfg["k"] == 4
    assert (cfg["d_in"], cfg["d_sae"]) == (d, 4 * d)
    assert cfg["hook_name"] == "blocks.1.attn.head_out" and cfg["hook_head_index"] == 3
    assert cfg["metadata"]["hook_name"] == cfg["hook_name"]
    assert cfg["apply_b_dec_to_input"] is True
    back, back_site = load_sae(folder, model)
    assert back_site == site and back.k == 4 and back.architecture == "topk"
    for name in ("W_enc", "b_enc", "W_dec", "b_dec"):
        torch.testing.assert_close(getattr(back, name), getattr(sae, name))
    x = torch.randn(7, d)
    torch.testing.assert_close(back(x), sae(x))


def test_a_hand_written_cfg_opens(tmp_path, model):
    d, n = model.cfg.d_e, 20
    g = torch.Generator().manual_seed(0)
    weights = {"W_enc": torch.randn(d, n, generator=g), "b_enc": torch.zeros(n),
               "W_dec": torch.randn(n, d, generator=g), "b_dec": torch.zeros(d),
               "threshold": torch.full((n,), 0.5)}
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    save_file(weights, str(folder / "sae_weights.safetensors"))
    (folder / "cfg.json").write_text(json.dumps({  # SAELens 6: the hook in metadata
        "architecture": "jumprelu", "d_in": d, "d_sae": n, "dtype": "float32",
        "apply_b_dec_to_input": False, "normalize_activations": "none",
        "metadata": {"model_name": "tiny", "hook_name": "blocks.1.hook_resid_post"}}))
    sae, site = load_sae(folder, model)
    assert site.step == "blocks.1.resid_mlp" and sae.architecture == "jumprelu"
    x = torch.randn(3, d)
    pre = x @ weights["W_enc"]
    torch.testing.assert_close(sae.encode(x), pre.relu() * (pre > 0.5))


def _folder(tmp_path, cfg=None, weights=None, name="bad"):
    folder = tmp_path / name
    folder.mkdir()
    if cfg is not None:
        (folder / "cfg.json").write_text(cfg if isinstance(cfg, str) else json.dumps(cfg))
    if weights is not None:
        path = folder / "sae_weights.safetensors"
        if isinstance(weights, bytes):
            path.write_bytes(weights)
        else:
            save_file(weights, str(path))
    return folder


class _Boom:
    def __reduce__(self):
        return (open, ("/tmp/sae-pickle-ran", "w"))


def test_bad_files_give_messages(tmp_path, model):
    d = model.cfg.d_e
    good = {"architecture": "standard", "d_in": d, "d_sae": 8, "hook_name": "blocks.0.resid_mlp"}
    w = {"W_enc": torch.zeros(d, 8), "b_enc": torch.zeros(8), "W_dec": torch.zeros(8, d),
         "b_dec": torch.zeros(d)}
    cases = {
        "no cfg.json": _folder(tmp_path, None, w, "a"),
        "not valid JSON": _folder(tmp_path, "{nope", w, "b"),
        "unknown architecture": _folder(tmp_path, {**good, "architecture": "gated"}, w, "c"),
        "d_in is 99": _folder(tmp_path, {**good, "d_in": 99}, w, "d"),
        "no step 'blocks.7.hook_resid_post'": _folder(
            tmp_path, {**good, "hook_name": "blocks.7.hook_resid_post"}, w, "e"),
        "not a safetensors file": _folder(tmp_path, good, pickle.dumps(_Boom()), "f"),
        "W_dec has shape": _folder(tmp_path, good, {**w, "W_dec": torch.zeros(8, d + 1)}, "g"),
        "k (TopK)": _folder(tmp_path, {**good, "architecture": "topk"}, w, "h"),
        "no tensor b_enc": _folder(tmp_path, good, {k: v for k, v in w.items() if k != "b_enc"},
                                   "i"),
    }
    pt = _folder(tmp_path, good, None, "j")
    torch.save(w, pt / "sae_weights.pt")
    cases["never opened"] = pt
    for words, folder in cases.items():
        with pytest.raises(SAEFileError, match=words.replace("(", r"\(").replace(")", r"\)")):
            load_sae(folder, model)
    import os

    assert not os.path.exists("/tmp/sae-pickle-ran")  # nothing was unpickled


def test_a_run_resumes_where_it_stopped(tmp_path, model):
    site, d = site_for(model, "blocks.0.resid_mlp")
    stream = torch.randint(0, model.cfg.vocab_size, (3000,),
                           generator=torch.Generator().manual_seed(1))
    windows = TokenWindows(stream, model.cfg.l_max)
    settings = TrainSettings(k=4, expansion=2, batch=64)
    first = SAETrainer(model, site, d, windows, settings)
    for _ in range(3):
        first.step()
    save_training(first, tmp_path / "run", "tiny", "ids")
    info = read_training(tmp_path / "run")
    assert info["step"] == 3
    second = SAETrainer(model, site, d, windows, TrainSettings(**info["settings"]))
    resume(second, tmp_path / "run", info)
    assert second.step_count == 3 and second.scale == pytest.approx(first.scale)
    torch.testing.assert_close(second.core.b_dec, first.core.b_dec)
    torch.testing.assert_close(second.core.W_enc, first.core.W_enc)
    exp = first.optimizer.state[first.core.W_enc]["exp_avg"]
    torch.testing.assert_close(second.optimizer.state[second.core.W_enc]["exp_avg"], exp)
    assert second.step().step == 4
