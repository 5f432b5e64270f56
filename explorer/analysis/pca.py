"""Embedding projection: principal components of token embeddings or of the residual stream.

PCA by ``torch.linalg.svd`` of the centred rows: X − mean = U S Vᵀ, coordinates U S, axes
the rows of Vᵀ, explained variance S² / (n − 1) and its share S² / Σ S². Each axis's sign
is fixed so that its largest-magnitude loading is positive: the scatter does not flip
between two calls on nearly the same data (as the user types).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from explorer.analysis.common import AnalysisError, Ids, as_ids, prepare, trace_for
from explorer.core.models import TransformerModel
from explorer.trace import Trace


@dataclass(frozen=True)
class Projection:
    """Rows projected on their first k principal axes.

    ``coords`` (n, k); ``axes`` (k, d) unit vectors; ``variance`` (k,) explained variance
    per axis and ``ratio`` (k,) its share of the total; ``rows`` (n,) what each row is:
    token ids (embeddings) or positions (residual stream); ``what`` says which.
    """

    what: str
    rows: torch.Tensor
    coords: torch.Tensor
    axes: torch.Tensor
    variance: torch.Tensor
    ratio: torch.Tensor


def principal_components(X: torch.Tensor, k: int = 2):
    """(coords (n, k), axes (k, d), variance (k,), ratio (k,), singular values (k,)) of X."""
    if X.dim() != 2 or X.shape[0] < 2:
        raise AnalysisError("a projection needs at least two points (tokens or positions)")
    X = X.double()
    centred = X - X.mean(dim=0, keepdim=True)
    U, S, Vh = torch.linalg.svd(centred, full_matrices=False)
    k = max(1, min(int(k), S.numel()))
    U, S, Vh = U[:, :k], S[:k], Vh[:k]
    flip = torch.sign(Vh.gather(1, Vh.abs().argmax(dim=1, keepdim=True)))  # (k, 1)
    flip[flip == 0] = 1
    Vh, U = Vh * flip, U * flip.T
    total = centred.pow(2).sum()
    ratio = S.pow(2) / total if float(total) > 0 else torch.zeros_like(S)
    return U * S, Vh, S.pow(2) / (X.shape[0] - 1), ratio, S


def _projection(what: str, rows: torch.Tensor, X: torch.Tensor, k: int) -> Projection:
    coords, axes, variance, ratio, _ = principal_components(X, k)
    return Projection(what, rows, coords.float(), axes.float(), variance.float(), ratio.float())


def embedding_projection(model: TransformerModel, ids: Ids | None = None,
                         k: int = 2) -> Projection:
    """PCA of the token embeddings W_e[:, v]: of every token (``ids`` None) or of the
    distinct tokens of ``ids`` in order of first appearance."""
    W = _token_table(model)  # (N_V, d_e): row v is W_e[:, v]
    if ids is None:
        rows = torch.arange(W.shape[0])
        return _projection("embeddings", rows, W.detach().cpu(), k)
    x = prepare_ids(model, ids)
    rows = torch.tensor(list(dict.fromkeys(x.tolist())), dtype=torch.long)
    if rows.numel() < 2:
        raise AnalysisError("the text has fewer than two distinct tokens to project")
    return _projection("text embeddings", rows, W.detach().cpu()[rows], k)


def _token_table(model: TransformerModel) -> torch.Tensor:
    stack = model.encoder if model.cfg.arch == "encoder-decoder" else model.stack
    return stack.embed.token.W_e.weight


def prepare_ids(model: TransformerModel, ids: Ids) -> torch.Tensor:
    """The ids checked against the model (empty, vocabulary), as a 1-D CPU tensor."""
    cfg = model.cfg
    return as_ids(ids, "the input", cfg, torch.device("cpu"))[0]


def residual_projection(model: TransformerModel, ids: Ids, step: str, *,
                        context: Ids | None = None, trace: Trace | None = None,
                        k: int = 2) -> Projection:
    """PCA over the text's positions of a (l, d) step of the trace, e.g. a residual point
    ``blocks.1.resid_mlp`` (batch element 0)."""
    inputs = prepare(model, ids, context)
    try:
        trace = trace_for(model, inputs, trace, [step])
    except KeyError:
        trace = None
    if trace is None or step not in trace:
        raise AnalysisError(f"{step!r} is not a step of this model's forward pass")
    X = trace[step][0]
    if X.dim() != 2:
        raise AnalysisError(f"the step {step!r} is not one vector per position "
                            f"(shape {tuple(trace[step].shape)})")
    return _projection(f"residual stream at {step}", torch.arange(X.shape[0]), X, k)
