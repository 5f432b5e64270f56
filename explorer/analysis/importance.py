"""Head importance: each head zero- (or mean-) ablated in turn, and the change of the
text's next-token loss (layers × heads). The runs go through the model as a few batches
of the text, each row ablating its own head (``batched=False``: one forward pass per
head through the hook points, the reference).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from explorer.analysis.common import (
    AnalysisError,
    Ids,
    Inputs,
    check_token_output,
    prepare,
)
from explorer.analysis.intervening import functions_attached, run_intervened
from explorer.analysis.interventions import AblateHead
from explorer.analysis.locate import stack_module
from explorer.analysis.patching import Cancelled, Progress, rows_per_batch, tick
from explorer.core.models import TransformerModel


@dataclass(frozen=True)
class HeadImportance:
    """Loss of the text with each head ablated (layers, heads), the loss without, and
    their difference (positive: the head helps)."""

    mode: str
    losses: torch.Tensor
    base_loss: float

    @property
    def delta(self) -> torch.Tensor:
        return self.losses - self.base_loss


def _mean_loss(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mean next-token loss of each row: logits (rows, l, N_V), x (1, l) -> (rows,)."""
    logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    target = x[0, 1:].to(logp.device)
    picked = logp.gather(2, target.expand(logp.shape[0], -1)[..., None])[..., 0]
    return -picked.double().mean(dim=1)


def _ablate_rows(mode: str, rows: torch.Tensor, heads: torch.Tensor):
    def ablate(y: torch.Tensor) -> torch.Tensor:  # (B, H, l, d_mid)
        y = y.clone()
        if mode == "zero":
            y[rows, heads] = 0
        else:
            y[rows, heads] = y[rows, heads].mean(dim=-2, keepdim=True).expand_as(
                y[rows, heads])
        return y

    return ablate


def head_importance(model: TransformerModel, ids: Ids, *, context: Ids | None = None,
                    mode: str = "zero", batched: bool = True, max_rows: int | None = None,
                    progress: Progress | None = None,
                    cancelled: Cancelled | None = None) -> HeadImportance:
    """The next-token loss of the text with each head of the output stack (the decoder's,
    for an encoder-decoder) ablated in turn; all runs as a few batches."""
    cfg = model.cfg
    if cfg.arch == "encoder":
        raise AnalysisError("head importance uses the next-token loss: it needs a decoder "
                            "or an encoder-decoder")
    check_token_output(cfg)
    if mode not in ("zero", "mean"):
        raise AnalysisError(f"the ablation mode {mode!r} is not zero or mean")
    inputs = prepare(model, ids, context)
    if inputs.length < 2:
        raise AnalysisError("the loss needs at least two tokens: one to read and the next "
                            "to predict")
    blocks = stack_module(model, None).blocks
    prefix = "decoder." if cfg.arch == "encoder-decoder" else ""
    specs = [(i, h) for i in range(len(blocks)) for h in range(blocks[i].attn.n_heads)]
    total, done = len(specs), 0
    tick(progress, cancelled, 0, total)
    with torch.no_grad():
        base = float(_mean_loss(model(*inputs.args()), inputs.x)[0])
        losses = []
        if batched:
            rows = max_rows or rows_per_batch(model, inputs.length, logits=True)
            for lo in range(0, total, rows):
                chunk = specs[lo:lo + rows]
                losses.append(_ablated_batch(model, inputs, chunk, mode, prefix))
                done += len(chunk)
                tick(progress, cancelled, done, total)
        else:
            for layer, head in specs:
                stack = "decoder" if prefix else None
                logits = run_intervened(model, inputs, [AblateHead(layer, head, mode,
                                                                   stack=stack)])
                losses.append(_mean_loss(logits, inputs.x))
                done += 1
                tick(progress, cancelled, done, total)
    grid = torch.cat(losses).cpu().reshape(len(blocks), -1) if specs else torch.zeros(0, 0)
    return HeadImportance(mode, grid, base)


def _ablated_batch(model: TransformerModel, inputs: Inputs, chunk: list[tuple[int, int]],
                   mode: str, prefix: str) -> torch.Tensor:
    device = inputs.x.device
    by_step = {}
    for layer in sorted({layer for layer, _ in chunk}):
        rows = [r for r, (i, _) in enumerate(chunk) if i == layer]
        heads = [chunk[r][1] for r in rows]
        by_step[f"{prefix}blocks.{layer}.attn.head_out"] = [_ablate_rows(
            mode, torch.tensor(rows, device=device), torch.tensor(heads, device=device))]
    n = len(chunk)
    args = tuple(a.expand(n, -1) for a in inputs.args())
    with functions_attached(model, by_step):
        return _mean_loss(model(*args), inputs.x)
