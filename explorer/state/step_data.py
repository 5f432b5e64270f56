"""What the heatmap draws for the current step: a float32 matrix in the paper's orientation,
its axis labels, its masked cells and its colour levels. Built from the session, no Qt."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from explorer.tokenize.display import vocabulary_labels

if TYPE_CHECKING:
    from explorer.state import Session
    from explorer.trace import Step

DIM_NAMES = {
    "l": "ℓ (tokens)", "l_x": "ℓ_x (tokens x)", "l_z": "ℓ_z (tokens z)", "d_e": "d_e",
    "d_attn": "d_attn", "d_mid": "d_mid", "H*d_mid": "H·d_mid", "d_mlp": "d_mlp",
    "N_V": "N_V (vocabulary)", "N_C": "N_C (classes)",
}
TOKEN_DIMS = ("l", "l_x", "l_z")


@dataclass
class HeatmapData:
    """One matrix to draw (rows × columns) and how to read it."""

    step: Step
    values: np.ndarray  # (rows, cols) float32, NaN where masked
    raw: np.ndarray  # (rows, cols) float32, the recorded values (−inf kept)
    mask: np.ndarray | None  # (rows, cols) bool, True where the mask forbids attention
    row_dim: str
    col_dim: str
    row_labels: tuple[str, ...] | None  # token labels when rows are tokens
    col_labels: tuple[str, ...] | None
    levels: tuple[float, float]
    kind: str  # "signed", "pattern", "probs", "scores", "ids"
    head: int | None  # the head shown for per-head steps
    n_heads: int
    row_names: tuple[str, ...] | None = None  # vocabulary entries for N_V rows
    nonfinite: int = 0  # values that are NaN or ±∞ where no mask put them (damaged weights)


def _mask_for(session: Session, step: Step) -> np.ndarray | None:
    """The attention mask of the step's attention (from its masked scores), (H, l_z, l_x)."""
    if step.kind not in ("pattern", "scores") or session.trace is None:
        return None
    prefix = step.name.rsplit(".", 1)[0]
    if f"{prefix}.masked_scores" not in session.trace:
        return None
    # (H, l_x, l_z) or, by the paper's rule for a lean trace, (l_x, l_z) for every head
    masked = session.trace.masked(prefix).numpy()
    n_heads = session.trace[step.name].shape[1]
    return np.broadcast_to(np.swapaxes(masked, -1, -2),
                           (n_heads, masked.shape[-1], masked.shape[-2]))


def _levels(kind: str, finite: np.ndarray, vocab: int) -> tuple[float, float]:
    if kind == "pattern":
        return (0.0, 1.0)
    if kind == "probs":
        top = float(finite.max()) if finite.size else 1.0
        return (0.0, max(top, 1e-6))
    if kind == "ids":
        return (0.0, float(max(vocab - 1, 1)))
    top = float(np.abs(finite).max()) if finite.size else 1.0
    top = top if top > 0 else 1.0
    return (-top, top)


def heatmap_data(session: Session, step: Step | None = None) -> HeatmapData | None:
    """The current (or given) step of ``session`` as a matrix to draw; None without a trace."""
    step = step if step is not None else session.step
    if step is None or session.trace is None:
        return None
    arr = session.trace.paper(step.name).numpy().astype(np.float32, copy=False)
    dims = list(step.dims)
    head = None
    mask = _mask_for(session, step)
    if step.per_head:
        head = max(0, min(arr.shape[0] - 1, session.head))
        arr, dims = arr[head], dims[1:]
        mask = mask[head] if mask is not None else None
    kind = "ids" if step.kind == "ids" else step.kind
    return _matrix(session, step, arr, dims, mask, kind, head,
                   session.n_heads if step.per_head else 0)


def _matrix(session: Session, step: Step, arr: np.ndarray, dims, mask: np.ndarray | None,
            kind: str, head: int | None, n_heads: int) -> HeatmapData:
    """``arr`` (a row or a matrix in ``dims``) as a ``HeatmapData``: the mask's cells drawn
    as NaN, levels from the finite values, token labels on the token axes."""
    if arr.ndim == 1:  # ids, class logits, a norm's m and v: one row
        arr, dims = arr[None, :], ["", *dims]
    raw = np.ascontiguousarray(arr, dtype=np.float32)
    values = raw
    if mask is not None and mask.any():
        values = raw.copy()
        values[mask] = np.nan
    else:
        mask = None
    is_finite = np.isfinite(raw)
    finite = raw[is_finite]
    nonfinite = int((~is_finite).sum()) - (int(mask.sum()) if mask is not None else 0)
    row_dim, col_dim = dims[0], dims[1]
    row_names = None
    if row_dim == "N_V":
        row_names = _vocab_names(session, raw.shape[0])
    return HeatmapData(
        step=step, values=values, raw=raw, mask=mask, row_dim=row_dim, col_dim=col_dim,
        row_labels=session.labels_for(row_dim) if row_dim in TOKEN_DIMS else None,
        col_labels=session.labels_for(col_dim) if col_dim in TOKEN_DIMS else None,
        levels=_levels(kind, finite, int(session.cfg.vocab_size)), kind=kind, head=head,
        n_heads=n_heads, row_names=row_names, nonfinite=max(0, nonfinite),
    )


def _vocab_names(session: Session, n: int) -> tuple[str, ...] | None:
    return vocabulary_labels(session.tokenizer, n) if session.tokenizer is not None else None


def find_token(tokenizer: object, text: str, n_vocab: int, what: str = "the target") -> int:
    """A token id from its spelling (as the tokenizer writes it, as shown with ␣ for a
    space, or ``#id``); ValueError (an ``AnalysisError``) with a sentence when there is
    none. Shared by the views and commands that let the user name a token."""
    from explorer.analysis import AnalysisError

    text = text.strip("\n")
    if text.startswith("#") and text[1:].isdigit() and int(text[1:]) < n_vocab:
        return int(text[1:])
    lookup = getattr(tokenizer, "token_to_id", None)
    if lookup is not None:
        for spelling in dict.fromkeys((text, text.replace("␣", " "), text.replace("␣", "Ġ"),
                                       text.replace("␣", "▁"))):
            token = lookup(spelling)
            if token is not None and 0 <= int(token) < n_vocab:
                return int(token)
    labels = vocabulary_labels(tokenizer, n_vocab)
    if text in labels:
        return labels.index(text)
    raise AnalysisError(f"{what} “{text}” is not a token of this model's vocabulary "
                        "(write it as the tokenizer spells it, ␣ for a space, or #id)")


def inside_data(session: Session, part: str) -> HeatmapData:
    """One part of the selected norm step's inside (``explorer.trace.norm_inside``) as a
    matrix to draw: its own title, formula and shape; ValueError for a non-norm step."""
    step = session.step
    inside = session.norm_inside(step.name)
    title, formula, dims, line = inside.describe(part)
    tokens = step.dims[-1]  # ℓ, ℓ_x or ℓ_z: the columns of the norm's own step
    dims = tuple(tokens if d == "l" else d for d in dims)
    arr = inside.part(part).numpy()
    shown = dataclasses.replace(step, title=f"{step.title} · {title}", formula=formula,
                                dims=dims, line=line)
    return _matrix(session, shown, arr, list(dims), None,
                   "probs" if part == "var" else "signed", None, 0)
