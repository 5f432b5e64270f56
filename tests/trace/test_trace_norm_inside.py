"""Algorithm 6 opened up: m, v, the normalised X and the result of every norm step."""

from __future__ import annotations

import pytest
import torch

from explorer.core import ModelConfig, build_model
from explorer.trace import record
from explorer.trace.norm_inside import PARTS, is_norm_step, norm_inside

CONFIGS = [
    dict(arch="decoder"),
    dict(arch="encoder"),
    dict(arch="encoder-decoder"),
    dict(arch="decoder", norm="rms"),
    dict(arch="encoder", norm_placement="post", norm="rms"),
]


@pytest.mark.parametrize("kwargs", CONFIGS, ids=lambda k: "-".join(map(str, k.values())))
def test_every_norm_step_opens_up_and_its_result_is_the_recorded_output(kwargs):
    torch.manual_seed(0)
    cfg = ModelConfig(vocab_size=30, l_max=16, d_e=16, n_heads=2, n_layers=2, **kwargs)
    model = build_model(cfg)
    with torch.no_grad():  # a non-trivial γ and β, so a mistake in either shows
        for name, p in model.named_parameters():
            if name.endswith(("gamma", "beta")):
                p.uniform_(0.5, 1.5)
    x = torch.randint(0, 30, (1, 6))
    z = torch.randint(0, 30, (1, 5))
    _, trace = record(model, x, z) if cfg.arch == "encoder-decoder" else record(model, x)
    norms = [s.name for s in trace.steps if is_norm_step(s.name)]
    assert norms
    for name in norms:
        inside = norm_inside(model, trace, name)
        recorded = trace.paper(name)[0] if trace.paper(name).dim() == 3 else trace.paper(name)
        assert torch.equal(inside.result, recorded.to(torch.float32))  # exactly the output
        e = trace[inside.input_step][0].to(torch.float32)
        if cfg.norm == "rms":
            assert torch.equal(inside.mean, torch.zeros(e.shape[0]))
            assert torch.allclose(inside.var, e.pow(2).mean(-1), atol=1e-6)
        else:
            var, mean = torch.var_mean(e, dim=-1, unbiased=False)
            assert torch.allclose(inside.mean, mean, atol=1e-6)
            assert torch.allclose(inside.var, var, atol=1e-6)
        for part in PARTS:
            title, formula, dims, line = inside.describe(part)
            assert inside.part(part).dim() == len(dims) and line in (1, 2, 3)


def test_a_plain_forward_pass_records_nothing_and_non_norms_are_refused():
    cfg = ModelConfig(arch="decoder", vocab_size=30, l_max=16, d_e=16, n_heads=2, n_layers=1)
    model = build_model(cfg)
    x = torch.randint(0, 30, (1, 4))
    before = {n: b.clone() for n, b in model.named_buffers()}
    model(x)
    assert all(torch.equal(before[n], b) for n, b in model.named_buffers())
    assert not any(getattr(m, "fn", None) for m in model.modules())  # no hook left active
    _, trace = record(model, x)
    with pytest.raises(ValueError, match="not a norm step"):
        norm_inside(model, trace, "blocks.0.attn.q")
