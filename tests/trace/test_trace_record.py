"""Recording: golden step names, bit-identical logits, declared shapes, paper lines."""

from __future__ import annotations

import pytest
import torch

from explorer.core import ModelConfig, build_model
from explorer.trace import ALGORITHMS, describe, record

ATTN = ["q", "k", "v", "scores", "masked_scores", "pattern", "head_out", "stacked", "out"]


def _attn(prefix: str) -> list[str]:
    return [f"{prefix}.{p}" for p in ATTN]


def golden_decoder(n_layers: int) -> list[str]:
    names = ["embed.ids", "embed.token", "embed.position", "embed.sum"]
    for i in range(n_layers):
        b = f"blocks.{i}"
        names += [f"{b}.attn_norm", *_attn(f"{b}.attn"), f"{b}.resid_attn", f"{b}.mlp_norm",
                  f"{b}.mlp.hidden_pre", f"{b}.mlp.hidden", f"{b}.mlp.out", f"{b}.resid_mlp"]
    return names + ["final_norm", "logits", "probs"]


def golden_encoder(n_layers: int) -> list[str]:
    names = ["embed.ids", "embed.token", "embed.position", "embed.sum"]
    for i in range(n_layers):
        b = f"blocks.{i}"
        names += [*_attn(f"{b}.attn"), f"{b}.resid_attn", f"{b}.attn_norm",
                  f"{b}.mlp.hidden_pre", f"{b}.mlp.hidden", f"{b}.mlp.out", f"{b}.resid_mlp",
                  f"{b}.mlp_norm"]
    return names + ["head.hidden_pre", "head.hidden", "head.norm", "logits", "probs"]


def golden_encoder_decoder(n_enc: int, n_dec: int) -> list[str]:
    names = [f"encoder.{n}" for n in golden_encoder(n_enc)[:-5]]
    names += ["decoder.embed.ids", "decoder.embed.token", "decoder.embed.position",
              "decoder.embed.sum"]
    for i in range(n_dec):
        b = f"decoder.blocks.{i}"
        names += [*_attn(f"{b}.attn"), f"{b}.resid_attn", f"{b}.attn_norm",
                  *_attn(f"{b}.cross_attn"), f"{b}.resid_cross", f"{b}.cross_norm",
                  f"{b}.mlp.hidden_pre", f"{b}.mlp.hidden", f"{b}.mlp.out", f"{b}.resid_mlp",
                  f"{b}.mlp_norm"]
    return names + ["logits", "probs"]


def _model(arch: str, **kw):
    torch.manual_seed(0)
    cfg = ModelConfig(arch=arch, vocab_size=23, l_max=16, d_e=24, n_heads=3, n_layers=2,
                      d_attn=5, d_mid=7, d_mlp=40, **kw)
    return build_model(cfg).eval()


def _inputs(arch: str):
    x = torch.randint(0, 23, (2, 6))
    return (torch.randint(0, 23, (2, 4)), x) if arch == "encoder-decoder" else (x,)


GOLDEN = {
    "decoder": golden_decoder(2),
    "encoder": golden_encoder(2),
    "encoder-decoder": golden_encoder_decoder(2, 2),
}


@pytest.mark.parametrize("arch", list(GOLDEN))
def test_golden_names_in_execution_order(arch):
    _, trace = record(_model(arch), *_inputs(arch))
    assert list(trace) == GOLDEN[arch]
    assert [s.name for s in trace.steps] == GOLDEN[arch]


@pytest.mark.parametrize("arch", list(GOLDEN))
def test_recording_gives_bit_identical_logits(arch):
    model = _model(arch)
    inputs = _inputs(arch)
    with torch.no_grad():
        plain = model(*inputs)
    recorded, trace = record(model, *inputs)
    assert torch.equal(plain, recorded)
    assert torch.equal(trace["logits"], plain)
    assert all(p.fn is None for p in model.hook_points().values())  # detached afterwards


@pytest.mark.parametrize("arch", list(GOLDEN))
def test_shapes_as_declared(arch):
    model = _model(arch)
    _, trace = record(model, *_inputs(arch))
    cfg = model.cfg
    l_x, l_z = 6, 4
    tokens = {"l": l_x, "l_x": l_x, "l_z": l_z if arch == "encoder-decoder" else l_x}
    expected = {"d_e": cfg.d_e, "d_attn": cfg.d_attn, "d_mid": cfg.d_mid, "d_mlp": cfg.d_mlp,
                "H": cfg.n_heads, "H*d_mid": cfg.n_heads * cfg.d_mid, "N_V": cfg.vocab_size,
                **tokens}
    for step in trace.steps:
        got = tuple(trace.paper(step.name).shape)
        assert got == tuple(expected[d] for d in step.dims), (step.name, step.dims, got)
        assert step.shape.count("×") == len(step.dims) - 1


def test_paper_orientation_and_probabilities():
    model = _model("decoder")
    x = torch.randint(0, 23, (1, 6))
    _, trace = record(model, x)
    S = trace.paper("blocks.0.attn.scores")  # (H, l_z, l_x)
    torch_scores = trace["blocks.0.attn.scores"][0]  # (H, l_x, l_z)
    assert torch.equal(S, torch_scores.transpose(-1, -2))
    A = trace.paper("blocks.1.attn.pattern")
    torch.testing.assert_close(A.sum(dim=1), torch.ones(3, 6))  # columns sum to 1
    masked = trace.paper("blocks.0.attn.masked_scores")
    assert torch.isinf(masked[:, 5, 0]).all() and torch.isfinite(masked[:, 0, 5]).all()
    P = trace.paper("probs")
    torch.testing.assert_close(P.sum(dim=0), torch.ones(6))


def test_recording_a_subset():
    model = _model("decoder")
    x = torch.randint(0, 23, (1, 6))
    with torch.no_grad():
        plain = model(x)
    logits, trace = record(model, x, names=["blocks.1.attn.pattern", "probs"])
    assert list(trace) == ["blocks.1.attn.pattern", "probs"]
    assert torch.equal(logits, plain)


@pytest.mark.parametrize("arch", list(GOLDEN))
def test_steps_point_into_the_pseudocode(arch):
    model = _model(arch)
    _, trace = record(model, *_inputs(arch))
    for step in trace.steps:
        alg = ALGORITHMS[step.algorithm]
        assert 1 <= step.line <= len(alg.lines), step
        assert step.title and step.formula
        if step.outer is not None:
            assert step.outer[0] == model.cfg.algorithm
            assert 1 <= step.outer[1] <= len(ALGORITHMS[step.outer[0]].lines)
    q = trace.step(trace.steps[[s.name for s in trace.steps].index(
        next(n for n in trace if n.endswith("attn.q")))].name)
    assert (q.algorithm, q.line) == (4, 1)


def test_variant_steps():
    model = _model("decoder", norm="rms", n_token_types=2, embed_norm=True)
    _, trace = record(model, torch.randint(0, 23, (1, 5)))
    assert "embed.token_type" in trace and "embed.norm" in trace
    assert "rms_norm" in trace.step("blocks.0.attn_norm").formula
    cls = _model("encoder", n_classes=4)
    _, trace = record(cls, torch.randint(0, 23, (1, 5)))
    assert trace["class_probs"].shape == (1, 4)
    assert describe("class_logits", cls.cfg).dims == ("N_C",)


def test_unknown_step_name():
    with pytest.raises(KeyError):
        describe("blocks.0.nothing", _model("decoder").cfg)


@pytest.mark.parametrize("arch", list(GOLDEN))
@pytest.mark.parametrize("activation", ["gelu", "relu"])
def test_a_lean_trace_recomputes_exactly_what_it_does_not_store(arch, activation):
    model = _model(arch, activation=activation)
    inputs = _inputs(arch)
    logits, full = record(model, *inputs)
    lean_logits, lean = record(model, *inputs, lean=True)
    assert torch.equal(logits, lean_logits)
    assert list(lean) == list(full) and [s.name for s in lean.steps] == list(full)
    assert lean.nbytes() < full.nbytes()
    for name in full:
        a, b = full[name], lean[name]
        assert a.shape == b.shape, name
        assert torch.equal(torch.isinf(a), torch.isinf(b)), name  # the same masked cells
        finite = torch.isfinite(a)
        torch.testing.assert_close(b[finite], a[finite], rtol=1e-5, atol=1e-6, msg=name)
    assert torch.equal(lean.paper("probs"), full.paper("probs"))
    with pytest.raises(ValueError, match="lean=False"):
        record(model, *inputs, lean=True, mask=None)


def test_hooks_attached_on_one_thread_leave_another_threads_pass_alone():
    """A window records on its worker thread while another thread samples from the same
    model: the sampler's forward pass must neither be recorded nor see the recorder's
    functions, and both traces stay whole."""
    import threading

    from explorer.trace.record import hooks_attached

    torch.manual_seed(0)
    model = build_model(ModelConfig(arch="decoder", vocab_size=23, d_e=16, n_heads=2,
                                    n_layers=2, l_max=12)).eval()
    x = torch.tensor([[1, 5, 7, 3, 2]])
    y = torch.tensor([[4, 4, 9]])
    with torch.no_grad():
        plain_y = model(y)
    store: dict = {}
    seen_elsewhere: list = []
    with hooks_attached(model, store):
        worker = threading.Thread(target=lambda: seen_elsewhere.append(
            (model(y).detach(), [p.active for p in model.hook_points().values()])))
        worker.start()
        worker.join()
        with torch.no_grad():
            model(x)
    logits_y, active = seen_elsewhere[0]
    assert not any(active)
    assert torch.equal(logits_y, plain_y)
    assert store["embed.ids"].shape[-1] == x.shape[-1]  # only this thread's pass stored
    results: dict[int, torch.Tensor] = {}

    def rec(i: int, ids: torch.Tensor) -> None:
        for _ in range(20):
            results[i] = record(model, ids)[1]["embed.ids"]

    threads = [threading.Thread(target=rec, args=(i, ids)) for i, ids in enumerate((x, y))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert torch.equal(results[0], x) and torch.equal(results[1], y)


@pytest.mark.parametrize("arch", ["decoder", "encoder", "encoder-decoder"])
def test_a_lean_trace_gives_each_attention_mask_without_recomputing_scores(arch):
    torch.manual_seed(1)
    model = build_model(ModelConfig(arch=arch, vocab_size=19, d_e=16, n_heads=2,
                                    n_layers=2, l_max=12)).eval()
    x = torch.tensor([[1, 5, 7, 3, 2, 8]])
    inputs = (x,) if arch != "encoder-decoder" else (torch.tensor([[4, 6, 2]]), x)
    _, full = record(model, *inputs)
    _, lean = record(model, *inputs, lean=True)
    prefixes = [n.removesuffix(".masked_scores") for n in full if n.endswith("masked_scores")]
    assert prefixes
    for prefix in prefixes:
        expected = torch.isneginf(full[f"{prefix}.masked_scores"][0])
        assert torch.equal(full.masked(prefix), expected)
        assert torch.equal(lean.masked(prefix).expand_as(expected), expected)
    assert not any(n.endswith("scores") for n in lean._derived)
