"""Embedding projection equals numpy's SVD (up to sign); comparing a text with itself
gives zero differences and KL 0; different lengths are aligned on the common prefix."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from analysis_models import ids, make_model

from explorer.analysis import (
    AnalysisError,
    align,
    compare_attention,
    compare_lens,
    compare_outputs,
    embedding_projection,
    kl_divergence,
    logit_lens,
    principal_components,
    residual_projection,
)
from explorer.trace import record


def _numpy_pca(X: np.ndarray, k: int):
    centred = X - X.mean(axis=0, keepdims=True)
    U, S, Vt = np.linalg.svd(centred, full_matrices=False)
    return U[:, :k] * S[:k], Vt[:k], (S**2 / (S**2).sum())[:k]


def _same_up_to_sign(a: np.ndarray, b: np.ndarray, atol: float) -> bool:
    """Columns of a equal columns of b, each possibly negated."""
    return all(min(np.abs(a[:, j] - b[:, j]).max(), np.abs(a[:, j] + b[:, j]).max()) < atol
               for j in range(a.shape[1]))


def test_embedding_projection_equals_numpys_svd():
    model = make_model("decoder")
    proj = embedding_projection(model, k=3)
    W = model.stack.embed.token.W_e.weight.detach().double().numpy()
    coords, axes, ratio = _numpy_pca(W, 3)
    assert proj.coords.shape == (37, 3) and proj.rows.tolist() == list(range(37))
    assert _same_up_to_sign(proj.coords.double().numpy(), coords, 1e-4)
    assert _same_up_to_sign(proj.axes.double().numpy().T, axes.T, 1e-5)
    assert np.allclose(proj.ratio.numpy(), ratio, atol=1e-6)
    assert (proj.ratio[:-1] >= proj.ratio[1:]).all()


def test_text_embeddings_are_the_distinct_tokens_in_order():
    model = make_model("encoder")
    x = torch.tensor([5, 3, 5, 9, 3, 1])
    proj = embedding_projection(model, x, k=2)
    assert proj.rows.tolist() == [5, 3, 9, 1]
    W = model.stack.embed.token.W_e.weight.detach().double().numpy()[[5, 3, 9, 1]]
    assert _same_up_to_sign(proj.coords.double().numpy(), _numpy_pca(W, 2)[0], 1e-4)


def test_residual_projection_equals_numpys_svd():
    model = make_model("encoder-decoder")
    x, z = ids(9, seed=2), ids(11, seed=3)
    _, trace = record(model, z[None], x[None])
    step = "decoder.blocks.1.resid_attn"
    proj = residual_projection(model, x, step, context=z, trace=trace)
    X = trace[step][0].double().numpy()
    assert proj.rows.tolist() == list(range(9))
    assert _same_up_to_sign(proj.coords.double().numpy(), _numpy_pca(X, 2)[0], 1e-4)
    enc = residual_projection(model, x, "encoder.blocks.0.resid_mlp", context=z, k=2)
    assert enc.coords.shape == (11, 2)


def test_the_sign_of_each_axis_is_fixed():
    X = torch.randn(20, 6, generator=torch.Generator().manual_seed(0))
    _, axes, _, _, _ = principal_components(X, 3)
    _, flipped, _, _, _ = principal_components(-X, 3)
    assert torch.allclose(axes, flipped, atol=1e-10)
    assert (axes.gather(1, axes.abs().argmax(1, keepdim=True)) > 0).all()


def test_projection_errors():
    model = make_model("decoder")
    with pytest.raises(AnalysisError, match="fewer than two distinct"):
        embedding_projection(model, [4, 4, 4])
    with pytest.raises(AnalysisError, match="not a step"):
        residual_projection(model, ids(5), "blocks.9.resid_mlp")
    with pytest.raises(AnalysisError, match="not one vector per position"):
        residual_projection(model, ids(5), "blocks.0.attn.pattern")


def test_comparing_a_text_with_itself_gives_zeros_and_kl_0():
    model = make_model("decoder")
    x = ids(9)
    out = compare_outputs(model, x, x.clone())
    assert not out.lengths_differ and out.note == ""
    assert torch.count_nonzero(out.diff) == 0 and torch.count_nonzero(out.kl) == 0
    assert out.kl.shape == (9,)
    _, ta = record(model, x[None])
    _, tb = record(model, x.clone()[None])
    attn = compare_attention(ta, tb, "blocks.1.attn.pattern")
    assert torch.count_nonzero(attn.diff) == 0
    lens = compare_lens(logit_lens(model, x), logit_lens(model, x.clone()), "entropy")
    assert torch.count_nonzero(lens.diff) == 0


def test_different_lengths_align_on_the_common_prefix():
    model = make_model("decoder")
    a, b = ids(9, seed=1), ids(6, seed=5)
    out = compare_outputs(model, a, b)
    assert out.lengths_differ and out.lengths_a == (9,) and out.lengths_b == (6,)
    assert "first 6" in out.note
    with torch.no_grad():
        pa = torch.softmax(model(a[None])[0], -1)[:6]
        pb = torch.softmax(model(b[None])[0], -1)
        kl = (pa * (pa.log() - pb.log())).sum(-1)
    assert torch.allclose(out.a, pa) and torch.allclose(out.diff, pa - pb)
    assert torch.allclose(out.kl, kl, atol=1e-5) and (out.kl > 0).all()
    _, ta = record(model, a[None])
    _, tb = record(model, b[None])
    attn = compare_attention(ta, tb, "blocks.0.attn.pattern")
    assert attn.a.shape == (4, 6, 6) and attn.lengths_a == (9, 9)
    assert torch.equal(attn.a, ta["blocks.0.attn.pattern"][0, :, :6, :6])
    grid = compare_lens(logit_lens(model, a), logit_lens(model, b), "target_prob")
    assert grid.a.shape == (len(logit_lens(model, a).points), 6)


def test_cross_attention_aligns_both_token_axes_separately():
    model = make_model("encoder-decoder")
    _, ta = record(model, ids(8, seed=3)[None], ids(5, seed=2)[None])
    _, tb = record(model, ids(10, seed=4)[None], ids(7, seed=1)[None])
    cmp = compare_attention(ta, tb, "decoder.blocks.0.cross_attn.pattern")
    assert cmp.a.shape == (4, 5, 8) and cmp.lengths_a == (5, 8) and cmp.lengths_b == (7, 10)


def test_kl_divergence_and_align_errors():
    a = torch.tensor([[0.0, 1.0, 2.0]])
    assert kl_divergence(a, a).item() == 0
    assert kl_divergence(a, a.flip(-1)).item() > 0
    with pytest.raises(AnalysisError, match="non-position axis"):
        align(torch.zeros(2, 5), torch.zeros(3, 5), (1,))
    with pytest.raises(AnalysisError, match="unknown lens quantity"):
        model = make_model("decoder")
        compare_lens(logit_lens(model, [1, 2]), logit_lens(model, [1, 2]), "nothing")
