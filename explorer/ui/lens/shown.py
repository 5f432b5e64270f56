"""What the Lens tab shows from a finished job, outside the grid: the per-token loss as the
tokenization strip numbers its tokens, and the PCA view."""

from __future__ import annotations

from typing import Any

from explorer.ui.lens.jobs import LensJob


def loss_in_strip(session: Any, job: LensJob) -> tuple[dict[int, float], dict[int, int]] | None:
    """The job's per-token loss keyed by the index of the token in the whole text (as the
    tokenization strip draws it), with those tokens' ids; None if the job is of another
    chunk or text."""
    # model position t -> the t-th token drawn in the tokenization strip
    encoded = session.encoded
    head = 1 if encoded.specials and encoded.specials[0] in ("bos", "cls") else 0
    if not encoded.chunks or len(encoded.chunks[session.chunk].ids) != len(job.ids):
        return None
    first = session.chunk * encoded.per_chunk
    values: dict[int, float] = {}
    for t, v in enumerate(job.loss.per_position.tolist()):
        i = t - head
        if 0 <= i < encoded.per_chunk and v == v:
            values[first + i] = float(v)
    ids = {first + t - head: int(job.ids[t]) for t in range(head, len(job.ids))}
    return values, ids


def show_pca(v: Any, job: LensJob, labels: list[str], vocab: list[str]) -> None:
    """Put the job's projection in the PCA view ``v.pca``, the chosen position marked."""
    projection = job.pca
    if projection.what.startswith("residual"):
        rows = projection.rows.tolist()
        tokens = [job.ids[r] for r in rows]
        names = [f"{r}:{labels[r]}" for r in rows]
        title = f"PCA of the residual stream at {job.pca_step} over the text's positions"
    else:
        tokens = projection.rows.tolist()
        names = [vocab[i] for i in tokens]
        title = f"PCA of the token embeddings W_e ({len(tokens)} tokens)"
    v.pca.set_projection(projection, names, tokens, title)
    t = v.position_box.value()
    if 0 <= t < len(job.ids):
        v.pca.set_highlight(token=job.ids[t], position=t)


def target_kind(job: LensJob, t: int, own_target: bool, arch: str) -> str:
    """What the lens's target at position ``t`` is, in words."""
    if job.target_is_next is None:
        return "the target"
    if own_target:
        return "your target"
    if bool(job.target_is_next[t]):
        return "the token itself" if arch == "encoder" else "the next token"
    return "the model's top-1"


def show_depth(v: Any, job: LensJob, vocab: list[str], labels: list[str], arch: str) -> None:
    """The depth plot (P and rank of the target by layer) of the grid's chosen column."""
    t = v.grid.column
    if not 0 <= t < len(job.ids):
        v.depth.clear_plot()
        return
    target = int(job.lens.targets[t])
    kind = target_kind(job, t, bool(v.target_edit.text().strip()), arch)
    v.depth.show_column(job.lens, t, [f"“{vocab[target]}”: P and rank by depth",
                                      f"at t = {t} (reads “{labels[t]}”)",
                                      f"target: {kind}"])
