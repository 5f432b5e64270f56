"""Attribution patching, edge attribution (EAP, EAP-IG), faithfulness and path patching,
checked against exact patching and against their own definitions."""

from __future__ import annotations

import pytest
import torch
from analysis_models import VARIANTS, ids, make_model

from explorer.analysis import AnalysisError, activation_patching
from explorer.analysis.attribution import attribution_patching, attribution_sites
from explorer.analysis.circuit import Circuits, curve_sizes
from explorer.analysis.common import prepare
from explorer.analysis.graph import Node
from explorer.analysis.intervening import functions_attached, run_intervened
from explorer.analysis.interventions import Patch
from explorer.trace import record


def _pair(model):
    """(clean, corrupted, keyword arguments) for the model's architecture."""
    if model.cfg.arch == "encoder-decoder":
        return ids(12, 3), ids(12, 4), {"decoder": ids(9, 2)}
    return ids(9, 1), ids(9, 5), {}


@pytest.mark.parametrize("arch", ["decoder", "encoder"])
def test_attribution_equals_exact_patching_where_the_metric_is_linear(arch):
    # no final norm and a constant last MLP: the logits are linear in the last layer's
    # attention, head and MLP outputs, so the linear estimate is the exact patch
    model = make_model(arch, norm_placement="pre", final_head=False)
    model.stack.final_norm = None
    with torch.no_grad():
        model.stack.blocks[-1].mlp.W_mlp1.weight.zero_()
    clean, corrupted, _ = _pair(model)
    estimate, metric = attribution_patching(model, clean, corrupted, 3, 4)
    exact = activation_patching(model, clean, corrupted, 3, 4)
    assert metric.clean == pytest.approx(exact["resid"].clean_diff, abs=1e-5)
    for site in ("attn_out", "mlp_out", "head_out"):
        assert estimate[site].values.shape == exact[site].values.shape
        torch.testing.assert_close(estimate[site].values[-1], exact[site].values[-1],
                                   atol=1e-5, rtol=0)
        if site != "mlp_out":  # the constant MLP restores nothing
            assert estimate[site].values[-1].abs().max() > 1e-2
    # earlier layers go through the nonlinear last layer: only an estimate there
    assert not torch.allclose(estimate["resid"].values, exact["resid"].values, atol=1e-3)


@pytest.mark.parametrize("name", sorted(VARIANTS))
@pytest.mark.parametrize("metric", ["logit_diff", "loss", "kl"])
def test_attribution_covers_every_site_of_every_architecture(name, metric):
    arch, changes = VARIANTS[name]
    model = make_model(arch, **changes)
    clean, corrupted, kw = _pair(model)
    out, m = attribution_patching(model, clean, corrupted, 3, 4, metric=metric, position=2,
                                  **kw)
    assert list(out) == list(attribution_sites(model))
    if arch == "encoder-decoder":
        assert {"cross_head_out", "cross_k", "encoder.head_out"} <= set(out)
        assert out["encoder.resid"].values.shape[1] == 12
    for r in out.values():
        assert torch.isfinite(r.values).all()
    assert out["q"].values.abs().sum() > 0 and m.position == 2


@pytest.mark.parametrize("call, message", [
    (lambda m: attribution_patching(m, ids(9, 1), ids(8, 5), 3, 4), "same token length"),
    (lambda m: attribution_patching(m, ids(9, 1), ids(9, 5), 3, 4, "logits"), "site 'logits'"),
    (lambda m: attribution_patching(m, ids(9, 1), ids(9, 5), 3, 3), "are the same"),
    (lambda m: attribution_patching(m, ids(9, 1), ids(9, 1), 3, 4), "nothing for patching"),
    (lambda m: Circuits(m, ids(9, 1), ids(9, 5), 3, 4).scores("acdc"), "not one of eap"),
])
def test_bad_requests_are_analysis_errors(call, message):
    with pytest.raises(AnalysisError, match=message):
        call(make_model("decoder"))


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_faithfulness_is_1_with_every_edge_and_0_with_none(name):
    arch, changes = VARIANTS[name]
    model = make_model(arch, **changes)
    clean, corrupted, kw = _pair(model)
    circuits = Circuits(model, clean, corrupted, 3, 4, **kw)
    ranked = circuits.graph("eap").ranked()
    curve = circuits.faithfulness(ranked, [5, 20])
    assert [n for n, _ in curve] == [0, 5, 20, len(ranked)]
    assert curve[0][1] == 0.0 and curve[-1][1] == 1.0
    # and the runs behind them are the corrupted and the clean run of the model itself
    mean = circuits.faithfulness(ranked, [], ablation="mean")
    assert [(n, f) for n, f in mean] == [(0, 0.0), (len(ranked), 1.0)]
    # the runs behind 0 and 1 are the model's own corrupted and clean runs
    none, every = circuits.metrics([torch.zeros(circuits.valid.shape), circuits.valid.float()])
    assert float(none) == pytest.approx(circuits.metric.corrupted, abs=1e-4)
    assert float(every) == pytest.approx(circuits.metric.clean, abs=1e-4)


def test_eap_scores_into_a_node_sum_to_its_attribution():
    model = make_model("decoder")  # pre-norm: a receiver's input is the sum of its edges
    clean, corrupted, _ = _pair(model)
    circuits = Circuits(model, clean, corrupted, 3, 4)
    scores = circuits.scores("eap")
    for layer in range(2):
        # the MLP's own input, separated from the residual path around it
        step, box = f"blocks.{layer}.resid_attn", {}

        def grab(x, box=box):
            box["x"], box["own"] = x.detach(), x.detach().clone().requires_grad_()
            return x

        def feed(x, layer=layer, box=box):
            return model.stack.blocks[layer].mlp_norm(box["own"])

        _, trace = record(model, clean[None], names=[step])
        with torch.enable_grad(), functions_attached(
                model, {step: [grab], f"blocks.{layer}.mlp_norm": [feed]}):
            logits = model(corrupted[None])
            grad, = torch.autograd.grad(circuits.metric.normalised(logits).sum(), [box["own"]])
        attribution = float(((trace[step] - box["x"]) * grad).sum())
        into = scores[circuits.edges.index[Node("mlp", layer)]]
        assert float(into.sum()) == pytest.approx(attribution, abs=1e-5)
        assert (into != 0).sum() == 1 + 5 * layer + 4  # embed, the heads and MLPs below


def test_eap_ig_scores_the_same_edges_as_eap_with_other_values():
    model = make_model("decoder")
    clean, corrupted, _ = _pair(model)
    circuits = Circuits(model, clean, corrupted, 3, 4)
    eap, ig = circuits.scores("eap"), circuits.scores("eap-ig", 4)
    assert eap.shape == ig.shape and not torch.allclose(eap, ig, atol=1e-4)
    assert ((eap != 0) == (ig != 0)).all()


@pytest.mark.parametrize("name", ["seq2seq-post-layer", "seq2seq-pre-rms"])
def test_cross_attention_edges_run_from_the_encoder_into_the_decoder(name):
    arch, changes = VARIANTS[name]
    model = make_model(arch, **changes)
    clean, corrupted, kw = _pair(model)
    graph = Circuits(model, clean, corrupted, 3, 4, **kw).graph("eap")
    cross = [e for e in graph.edges if e.source.stack == "encoder"
             and e.target.stack == "decoder"]
    assert cross and {e.target.kind for e in cross} == {"cross"}
    assert {e.target.port for e in cross} == {"k", "v"}
    assert any(e.score != 0 for e in cross)
    assert any(e.target == Node("cross", 0, 0, "decoder", "q") for e in graph.edges)


def test_path_patching_with_every_receiver_is_the_exact_patch_of_the_sender():
    model = make_model("decoder")
    clean, corrupted, _ = _pair(model)
    circuits = Circuits(model, clean, corrupted, 3, 4)
    source = tuple(corrupted.tolist())
    for sender, patch in [(Node("head", 0, 1), Patch("head_out", 0, source, None, 1)),
                          (Node("mlp", 0), Patch("mlp_out", 0, source, None))]:
        exact = circuits.metric.normalised(run_intervened(model, prepare(model, clean),
                                                          [patch]))
        every = circuits.path_patching(sender, circuits.receivers_of(sender))
        assert every == pytest.approx(float(exact[0]), abs=1e-5)
        queries = [r for r in circuits.receivers_of(sender) if r.port == "q"]
        assert circuits.path_patching(sender, queries) != pytest.approx(every, abs=1e-4)
    with pytest.raises(AnalysisError, match="not downstream"):
        circuits.path_patching(Node("head", 1, 0), [Node("head", 0, 0, port="q")])


def test_curve_sizes_run_from_0_to_all():
    assert curve_sizes(0) == [0]
    sizes = curve_sizes(1000)
    assert sizes[0] == 0 and sizes[-1] == 1000 and len(sizes) == 10
    assert sizes == sorted(set(sizes))
