"""Sparse autoencoders: their definitions, training invariants, metrics and interventions."""

from __future__ import annotations

import pytest
import torch
from analysis_models import ids, make_model

from explorer.analysis import prepare, run_intervened
from explorer.analysis.attach import functions_attached
from explorer.analysis.intervening import intervention_from_dict, interventions_to_list
from explorer.analysis.sae import (
    FeatureAblate,
    FeatureClamp,
    FeatureSteer,
    SAETrainer,
    SparseAutoencoder,
    TokenWindows,
    TrainSettings,
    feature_stats,
    logit_effect,
    loss_recovered,
    nearest_features,
    reconstruction,
    save_sae,
    site_for,
    top_contexts,
)
from explorer.analysis.sae.metrics import splice
from explorer.analysis.sae.stream import site_activations
from explorer.analysis.sae.training import geometric_median


def _random_sae(arch: str, d_in: int = 6, d_sae: int = 10, k: int | None = 3) -> SparseAutoencoder:
    sae = SparseAutoencoder(d_in, d_sae, arch, k if arch == "topk" else None)
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in (sae.W_enc, sae.b_enc, sae.W_dec, sae.b_dec):
            p.copy_(torch.randn(p.shape, generator=g))
        if arch == "jumprelu":
            sae.threshold.copy_(torch.rand(d_sae, generator=g))
    return sae


@pytest.mark.parametrize("arch", ["topk", "standard", "jumprelu"])
def test_encode_and_decode_equal_their_definitions(arch):
    sae = _random_sae(arch)
    x = torch.randn(5, 6)
    with torch.no_grad():
        sae.requires_grad_(False)
    pre = (x - sae.b_dec) @ sae.W_enc + sae.b_enc
    f = torch.zeros_like(pre)
    for i in range(5):
        if arch == "topk":
            order = sorted(range(10), key=lambda j: -float(pre[i, j].detach()))[:3]
            for j in order:
                f[i, j] = max(float(pre[i, j]), 0.0)
        elif arch == "standard":
            f[i] = pre[i].clamp_min(0)
        else:
            f[i] = torch.where(pre[i] > sae.threshold, pre[i].clamp_min(0),
                               torch.zeros_like(pre[i]))
    torch.testing.assert_close(sae.encode(x), f)
    torch.testing.assert_close(sae.decode(f), f @ sae.W_dec + sae.b_dec)
    torch.testing.assert_close(sae(x), f @ sae.W_dec + sae.b_dec)


def test_topk_has_exactly_k_active_features():
    sae = _random_sae("topk", d_sae=40, k=7)
    with torch.no_grad():
        sae.b_enc.fill_(100.0)  # every pre-activation positive: ReLU removes none
    f = sae.encode(torch.randn(50, 6))
    assert ((f != 0).sum(dim=-1) == 7).all()


def _windows(model, n_tokens=2000):
    g = torch.Generator().manual_seed(0)
    stream = torch.randint(0, model.cfg.vocab_size, (n_tokens,), generator=g)
    return TokenWindows(stream, model.cfg.l_max, "random ids")


@pytest.mark.parametrize("kind", ["topk", "relu"])
def test_decoder_directions_have_unit_norm_after_every_step(kind):
    model = make_model("decoder")
    site, d = site_for(model, "blocks.0.resid_mlp")
    trainer = SAETrainer(model, site, d, _windows(model),
                         TrainSettings(kind=kind, k=4, expansion=2, batch=64, lr=0.05))
    for _ in range(4):
        result = trainer.step()
        norms = trainer.core.W_dec.norm(dim=1)
        torch.testing.assert_close(norms, torch.ones_like(norms))
        torch.testing.assert_close(trainer.sae().W_dec.norm(dim=1), torch.ones_like(norms))
    if kind == "topk":
        assert result.l0 <= 4
    x = torch.randn(9, d)
    _, x_hat, _, active, _ = trainer.reconstruct(x)  # TopK's sparse decoder is the SAE's
    torch.testing.assert_close(x_hat, trainer.core(x))
    assert torch.equal(active, (trainer.core.encode(x) > 0).sum(-1))


def test_training_lowers_the_loss_and_the_sae_reads_unscaled_activations():
    model = make_model("decoder")
    site, d = site_for(model, "blocks.1.resid_mlp")
    windows = _windows(model)
    trainer = SAETrainer(model, site, d, windows, TrainSettings(k=8, expansion=4, batch=128))
    first = trainer.step().fvu
    for _ in range(60):
        last = trainer.step().fvu
    assert last < first
    acts = site_activations(model, site, windows.held_out(4)).flatten(0, 1)
    rec = reconstruction(trainer.sae(), acts)
    assert rec.fvu == pytest.approx(trainer.evaluate(4)["fvu"], rel=1e-4)
    assert rec.fvu < 1.0


def test_b_dec_starts_at_the_geometric_median():
    x = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [100.0, 100.0]])
    m = geometric_median(x)
    cost = lambda c: float((x - c).norm(dim=1).sum())  # noqa: E731
    for step in ([0.01, 0], [-0.01, 0], [0, 0.01], [0, -0.01]):
        assert cost(m) <= cost(m + torch.tensor(step)) + 1e-6
    assert float(m.norm()) < 2  # the outlier barely moves it (the mean is at ~25)


def _identity_sae(d: int, shift: float = 64.0) -> SparseAutoencoder:
    """d_sae = d_in, W_enc = W_dec = I, no sparsity: b_dec = −shift puts every
    pre-activation x + shift above 0, so ReLU keeps them all and x̂ = x + shift − shift."""
    sae = SparseAutoencoder(d, d, "standard")
    with torch.no_grad():
        sae.W_enc.copy_(torch.eye(d))
        sae.W_dec.copy_(torch.eye(d))
        sae.b_enc.zero_()
        sae.b_dec.fill_(-shift)
    return sae


def test_an_identity_sae_recovers_all_of_the_ce_loss():
    from explorer.commands.model_arg import open_model_arg

    model, tokenizer, _ = open_model_arg("default-decoder")  # trained: zeroing costs loss
    site, d = site_for(model, "blocks.0.resid_mlp")
    x = TokenWindows(torch.tensor(tokenizer.encode("the girl who dances carries the broken "
                                                   "green keys .\n" * 12).ids), 32).held_out(3)
    result = loss_recovered(model, _identity_sae(d), site, x)
    assert result.spliced == pytest.approx(result.clean, abs=1e-5)
    assert result.zero > result.clean
    assert result.recovered == pytest.approx(1.0, abs=1e-4)
    half = _identity_sae(d, shift=0.0)
    with torch.no_grad():
        half.W_dec.mul_(0.0)  # reconstructs only b_dec = 0: the zero-ablated run
    assert loss_recovered(model, half, site, x).recovered == pytest.approx(0.0, abs=1e-4)


def test_a_head_site_reads_and_writes_one_head():
    model = make_model("decoder")
    site, d = site_for(model, "blocks.1.attn.head_out", head=2)
    assert (site.head, d) == (2, model.cfg.d_mid)
    x = ids(9)[None]
    with torch.no_grad():
        clean = model(x)
        with functions_attached(model, {site.step: [splice(_identity_sae(d), site)]}):
            spliced = model(x)
    torch.testing.assert_close(spliced, clean, atol=1e-4, rtol=1e-4)


def test_transformer_lens_hook_names_map_to_our_steps():
    model = make_model("decoder")
    assert site_for(model, "blocks.1.hook_resid_post")[0].step == "blocks.1.resid_mlp"
    assert site_for(model, "blocks.1.hook_resid_pre")[0].step == "blocks.0.resid_mlp"
    assert site_for(model, "blocks.0.hook_resid_pre")[0].step == "embed.sum"
    assert site_for(model, "blocks.0.hook_mlp_out")[0].step == "blocks.0.mlp.out"
    assert site_for(model, "blocks.1.hook_attn_out")[0].step == "blocks.1.attn.out"
    assert site_for(model, "blocks.0.attn.hook_z", 1)[0] == \
        site_for(model, "blocks.0.attn.head_out", 1)[0]


def _feature_setup(tmp_path):
    model = make_model("decoder")
    site, d = site_for(model, "blocks.0.resid_mlp")
    sae = _random_sae("topk", d_in=d, d_sae=3 * d, k=5)
    sae.normalise_decoder()
    folder = save_sae(sae, tmp_path / "sae", site)
    return model, site, sae, str(folder)


@pytest.mark.parametrize("kind", ["ablate", "clamp", "steer"])
def test_a_feature_intervention_equals_a_hand_written_hook(tmp_path, kind):
    model, site, sae, folder = _feature_setup(tmp_path)
    x = ids(9)
    f_i = 4
    positions = (2, 5) if kind != "steer" else None
    iv = {"ablate": FeatureAblate(folder, f_i, positions=positions),
          "clamp": FeatureClamp(folder, f_i, value=3.5, positions=positions),
          "steer": FeatureSteer(folder, f_i, alpha=-2.0)}[kind]
    d_i = sae.W_dec[f_i].detach()

    def by_hand(t: torch.Tensor) -> torch.Tensor:
        t = t.clone()
        where = list(positions) if positions else list(range(t.shape[1]))
        for p in where:
            act = float(sae.encode(t[0, p])[f_i])
            coefficient = {"ablate": -act, "clamp": 3.5 - act, "steer": -2.0}[kind]
            t[0, p] = t[0, p] + coefficient * d_i
        return t

    with torch.no_grad(), functions_attached(model, {site.step: [by_hand]}):
        expected = model(x[None])
    got = run_intervened(model, prepare(model, x), [iv])
    torch.testing.assert_close(got, expected)
    assert not torch.allclose(got, model(x[None]))
    again = intervention_from_dict(interventions_to_list([iv])[0])
    assert again == iv and again.label == iv.label


def test_feature_readings(tmp_path):
    model, site, sae, _ = _feature_setup(tmp_path)
    windows = _windows(model).held_out(6)
    stats = feature_stats(model, sae, site, windows, top=3, chunk=4)
    with torch.no_grad():
        f = torch.cat([sae.encode(site_activations(model, site, windows[i:i + 1]))[0]
                       for i in range(6)])
    torch.testing.assert_close(stats.density, (f > 0).float().mean(0))
    feature = int(stats.density.argmax())
    contexts = top_contexts(model, sae, site, stats, feature)
    best = float(f[:, feature].max())
    assert contexts[0].acts[contexts[0].focus] == pytest.approx(best, rel=1e-5)
    effect = logit_effect(model, sae, feature)
    direction = sae.W_dec[feature] - sae.W_dec[feature].mean()
    norm = model.stack.final_norm
    torch.testing.assert_close(effect, (direction * norm.gamma) @ model.unembed.W_u.weight.t())
    near = nearest_features(sae, feature, 4)
    assert feature not in [i for i, _ in near]
    assert [c for _, c in near] == sorted((c for _, c in near), reverse=True)
