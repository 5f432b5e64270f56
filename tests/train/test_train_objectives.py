"""Each objective equals the paper's formula on hand-checkable examples."""

from __future__ import annotations

import math

import pytest
import torch

from explorer.core import ModelConfig, build_model
from explorer.train import (
    TrainConfig,
    classification_loss,
    learning_rate,
    mask_tokens,
    masked_token_loss,
    next_token_loss,
    seq2seq_loss,
)


def _log_p(logits: torch.Tensor, b: int, t: int, token: int) -> float:
    return float(torch.log_softmax(logits[b, t].double(), -1)[token])


def test_next_token_loss_is_algorithm_13_without_the_last_position() -> None:
    torch.manual_seed(0)
    x = torch.tensor([[1, 2, 3, 0], [3, 3, 1, 2]])
    logits = torch.randn(2, 4, 5)
    mean, count = next_token_loss(logits, x)
    # loss = -Σ_{t=1}^{l-1} log P[x[t+1], t], summed over the batch (0-based here)
    paper = -sum(_log_p(logits, b, t, int(x[b, t + 1])) for b in range(2) for t in range(3))
    assert count == 6
    assert float(mean) * count == pytest.approx(paper, rel=1e-5)
    changed = logits.clone()
    changed[:, -1] = torch.randn(2, 5) * 10  # the last position predicts nothing
    assert float(next_token_loss(changed, x)[0]) == pytest.approx(float(mean), rel=1e-6)


def test_next_token_loss_leaves_out_padding() -> None:
    torch.manual_seed(1)
    x = torch.tensor([[1, 2, 3, 0]])
    x_mask = torch.tensor([[True, True, True, False]])
    logits = torch.randn(1, 4, 5)
    mean, count = next_token_loss(logits, x, x_mask)
    paper = -(_log_p(logits, 0, 0, 2) + _log_p(logits, 0, 1, 3))
    assert count == 2
    assert float(mean) * 2 == pytest.approx(paper, rel=1e-5)


def test_masked_loss_is_algorithm_12_on_masked_positions_only() -> None:
    torch.manual_seed(2)
    x = torch.tensor([[4, 1, 2, 3]])
    masked = torch.tensor([[False, True, False, True]])
    logits = torch.randn(1, 4, 6)
    mean, count = masked_token_loss(logits, x, masked)
    paper = -(_log_p(logits, 0, 1, 1) + _log_p(logits, 0, 3, 3))  # -Σ_{t∈T̃} log P[x[t], t]
    assert count == 2
    assert float(mean) * 2 == pytest.approx(paper, rel=1e-5)
    changed = logits.clone()
    changed[:, [0, 2]] += 5.0  # unmasked positions do not count
    assert float(masked_token_loss(changed, x, masked)[0]) == pytest.approx(float(mean))


def test_mask_tokens_replaces_with_probability_p_mask() -> None:
    x = torch.arange(4000).remainder(50).view(40, 100)
    gen = torch.Generator().manual_seed(0)
    x_tilde, masked = mask_tokens(x, mask_id=99, p_mask=0.15, generator=gen)
    assert (x_tilde[masked] == 99).all()
    assert torch.equal(x_tilde[~masked], x[~masked])
    assert 0.12 < masked.float().mean().item() < 0.18
    allowed = torch.zeros(2, 5, dtype=torch.bool)
    allowed[:, 1:3] = True
    _, few = mask_tokens(torch.ones(2, 5, dtype=torch.long), 7, 0.01, gen, allowed)
    assert few.any(dim=1).all()  # every sequence has a masked position
    assert not (few & ~allowed).any()
    with pytest.raises(ValueError, match="p_mask"):
        mask_tokens(x, 99, 0.0)


def test_seq2seq_loss_is_algorithm_11_with_the_context() -> None:
    torch.manual_seed(3)
    cfg = ModelConfig(arch="encoder-decoder", vocab_size=7, l_max=8, d_e=16, n_heads=2,
                      n_layers=1)
    model = build_model(cfg).eval().requires_grad_(False)
    z = torch.tensor([[1, 2, 3]])
    x = torch.tensor([[5, 4, 2, 6]])
    logits = model(z, x)
    mean, count = seq2seq_loss(logits, x)
    paper = -sum(_log_p(logits, 0, t, int(x[0, t + 1])) for t in range(3))
    assert count == 3
    assert float(mean) * 3 == pytest.approx(paper, rel=1e-5)
    other = seq2seq_loss(model(torch.tensor([[3, 3, 1]]), x), x)[0]
    assert float(other) != pytest.approx(float(mean))  # the loss depends on z


def test_classification_loss_is_minus_log_p_of_the_class() -> None:
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
    labels = torch.tensor([0, 2])
    mean, count = classification_loss(logits, labels)
    by_hand = -(math.log(math.exp(2) / (math.exp(2) + 1 + math.exp(-1)))
                + math.log(1 / (2 + math.e)))
    assert count == 2
    assert float(mean) * 2 == pytest.approx(by_hand, rel=1e-6)


def test_learning_rate_warms_up_then_decays_by_cosine() -> None:
    cfg = TrainConfig(steps=110, lr=1.0, warmup_steps=10, min_lr_ratio=0.1)
    assert learning_rate(0, cfg) == pytest.approx(0.1)
    assert learning_rate(9, cfg) == pytest.approx(1.0)
    assert learning_rate(10, cfg) == pytest.approx(1.0)
    assert learning_rate(60, cfg) == pytest.approx(0.55)
    assert learning_rate(110, cfg) == pytest.approx(0.1)
