"""A trace is a snapshot: training the model afterwards leaves every recorded step as it was."""

from __future__ import annotations

import pytest
import torch

from explorer.core import ModelConfig, build_model
from explorer.trace import record, record_edit


def _train_one_step(model, *inputs) -> None:
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=0.1)
    model(*inputs).square().mean().backward()
    opt.step()
    model.eval()


@pytest.mark.parametrize("variant", [
    dict(arch="decoder"),
    dict(arch="decoder", positions="sinusoidal", tie_unembedding=True),
    dict(arch="encoder", n_token_types=2),
    dict(arch="encoder-decoder", embed_norm=True),
])
@pytest.mark.parametrize("lean", [False, True])
def test_a_trace_recorded_before_a_training_step_is_unchanged_after_it(variant, lean):
    torch.manual_seed(0)
    model = build_model(ModelConfig(vocab_size=11, l_max=16, d_e=16, n_heads=2, **variant))
    x = torch.tensor([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 1, 2, 3, 4, 5]])  # l = l_max
    inputs = (x, x[:, :5]) if variant["arch"] == "encoder-decoder" else (x,)
    _, trace = record(model, *inputs, lean=lean)
    before = {name: trace[name].clone() for name in trace}
    _train_one_step(model, *inputs)
    x.fill_(0)  # the caller reuses its input tensor
    for name in trace:
        assert torch.equal(trace[name], before[name]), name
    for name, t in trace._tensors.items():  # each stored step owns exactly its memory
        if t is not None:
            assert t.untyped_storage().nbytes() == t.numel() * t.element_size(), name


def test_a_continued_trace_is_a_snapshot_too():
    torch.manual_seed(0)
    model = build_model(ModelConfig(arch="decoder", vocab_size=11, l_max=16, d_e=16))
    _, previous = record(model, torch.tensor([[1, 2, 3]]), lean=True)
    _, trace = record_edit(model, torch.tensor([[1, 2, 3, 4]]), previous=previous, lean=True)
    assert trace.first_new == 3
    before = {name: trace[name].clone() for name in trace}
    _train_one_step(model, torch.tensor([[1, 2, 3, 4]]))
    for name in trace:
        assert torch.equal(trace[name], before[name]), name


def test_trace_size_counts_each_step_once():
    torch.manual_seed(0)
    cfg = ModelConfig(arch="decoder", vocab_size=11, l_max=16, d_e=16, positions="none")
    _, trace = record(build_model(cfg), torch.tensor([[1, 2, 3]]))
    storages = {trace[name].untyped_storage().data_ptr() for name in trace}
    assert len(storages) == len(trace)  # embed.token and embed.sum are distinct copies
