"""Per-token loss equals the training objective's loss (Algorithms 11-13) for the same text."""

from __future__ import annotations

import pytest
import torch
from analysis_models import ids, make_model

from explorer.analysis import AnalysisError, token_loss
from explorer.train.objectives import masked_token_loss, next_token_loss, seq2seq_loss


def test_decoder_loss_is_algorithm_13s_mean():
    model = make_model("decoder")
    x = ids(12)
    loss = token_loss(model, x)
    with torch.no_grad():
        expected, count = next_token_loss(model(x[None]), x[None])
    assert loss.objective == "next-token" and loss.count == count == 11
    assert abs(loss.mean - float(expected)) < 1e-6
    assert abs(loss.total - float(expected) * count) < 1e-4
    assert torch.equal(loss.targets, x[1:]) and loss.positions.tolist() == list(range(11))
    assert torch.isnan(loss.per_position[0]) and torch.equal(loss.per_position[1:], loss.losses)


def test_seq2seq_loss_is_algorithm_11s_mean():
    model = make_model("encoder-decoder")
    x, z = ids(7, seed=2), ids(10, seed=3)
    loss = token_loss(model, x, context=z)
    with torch.no_grad():
        expected, _ = seq2seq_loss(model(z[None], x[None]), x[None])
    assert loss.objective == "seq2seq"
    assert abs(loss.mean - float(expected)) < 1e-6


def test_masked_loss_together_is_algorithm_12s_mean():
    model = make_model("encoder")
    x = ids(10)
    masked = [2, 5, 7]
    loss = token_loss(model, x, masked=masked, mask_id=0)
    T = torch.zeros(1, 10, dtype=torch.bool)
    T[0, masked] = True
    with torch.no_grad():
        expected, count = masked_token_loss(model(x[None].masked_fill(T, 0)), x[None], T)
    assert loss.count == count == 3 and loss.positions.tolist() == masked
    assert abs(loss.mean - float(expected)) < 1e-6
    assert torch.equal(loss.targets, x[masked])
    from_end = token_loss(model, x, masked=[-8, -5, -3], mask_id=0)  # Python-style
    assert from_end.positions.tolist() == masked and from_end.mean == loss.mean


def test_masked_loss_one_at_a_time_masks_each_position_in_its_own_copy():
    model = make_model("encoder")
    x = ids(8)
    masked = [1, 3, 4, 6]
    loss = token_loss(model, x, masked=masked, mask_id=0, together=False)
    copies = x.repeat(4, 1)
    T = torch.zeros(4, 8, dtype=torch.bool)
    T[torch.arange(4), masked] = True
    with torch.no_grad():
        expected, _ = masked_token_loss(model(copies.masked_fill(T, 0)), copies, T)
    assert abs(loss.mean - float(expected)) < 1e-6
    assert not torch.isnan(loss.per_position[masked]).any()


@pytest.mark.parametrize("arch, kwargs, message", [
    ("decoder", {"ids": [4]}, "at least two tokens"),
    ("decoder", {"ids": []}, "empty"),
    ("encoder", {"ids": [1, 2, 3]}, "mask token"),
    ("encoder", {"ids": [1, 2, 3], "mask_id": 0}, "at least one masked position"),
    ("encoder", {"ids": [1, 2, 3], "mask_id": 0, "masked": [3]}, "out of range"),
])
def test_bad_requests(arch, kwargs, message):
    with pytest.raises(AnalysisError, match=message):
        token_loss(make_model(arch), **kwargs)
