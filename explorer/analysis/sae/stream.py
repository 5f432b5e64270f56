"""Activations streamed from a text: the model run on a few windows at a time.

``TokenWindows`` tokenizes a bundled data set or the user's text file once (int32 ids, as
training does) and cuts windows of l_max tokens; ``ActivationStream`` runs the model on
``windows`` of them per call and hands back their activations at a site, shuffled, so the
whole data set's activations are never held: memory is one batch of windows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch

from explorer.analysis.attach import functions_attached
from explorer.analysis.common import AnalysisError, model_device
from explorer.analysis.sae.sites import Site
from explorer.core.models import TransformerModel


class TokenWindows:
    """The token ids of a text, split 90/10 into a training part (random windows) and a
    held-out part (fixed windows, for the metrics)."""

    def __init__(self, ids: torch.Tensor, length: int, name: str = "") -> None:
        ids = ids.flatten()  # kept as given (int32 from the tokenizer: 4 bytes a token)
        if ids.numel() < 4 * length:
            raise AnalysisError(f"{name or 'the text'} has {ids.numel()} tokens: an SAE "
                                f"needs at least {4 * length} (windows of {length})")
        n_val = max(length, ids.numel() // 10)
        self.train, self.val = ids[:-n_val], ids[-n_val:]
        self.length, self.name = length, name

    @classmethod
    def from_data(cls, data: str | Path, tokenizer, length: int) -> TokenWindows:
        """A bundled data set's name or a text file's path, tokenized (ValueError with a
        message when it is neither, or unreadable)."""
        from explorer.train.datasets import TrainingData
        from explorer.train.sources import load_source

        source = load_source("next-token", data)
        prepared = TrainingData(source, tokenizer, length)
        ids = torch.cat([prepared.train_ids, prepared.val_ids])
        return cls(ids, length, str(data))

    @property
    def tokens(self) -> int:
        return int(self.train.numel())

    def draw(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """(n, length) windows starting at random training positions."""
        starts = torch.randint(0, self.train.numel() - self.length + 1, (n,),
                               generator=generator)
        return torch.stack([self.train[s:s + self.length] for s in starts.tolist()]).long()

    def held_out(self, n: int) -> torch.Tensor:
        """Up to ``n`` fixed, non-overlapping held-out windows (n', length)."""
        count = min(n, self.val.numel() // self.length)
        return self.val[:count * self.length].view(count, self.length).long()


class _Reached(Exception):
    """Raised at the site: the rest of the forward pass is not needed."""


def site_activations(model: TransformerModel, site: Site, x: torch.Tensor) -> torch.Tensor:
    """(B, l, d) activations at ``site`` for windows ``x`` (B, l), on the CPU. The forward
    pass stops at the site, with torch's fused attention kernel where nothing records the
    attention pattern (the result is the same up to rounding)."""
    got: dict[str, torch.Tensor] = {}

    def keep(t: torch.Tensor) -> torch.Tensor:
        got["x"] = site.read(t).detach()
        raise _Reached

    fused = {m: m.fused for m in model.modules() if hasattr(m, "fused")}
    try:
        model.set_fused_attention(True)
        with torch.no_grad(), functions_attached(model, {site.step: [keep]}):
            model(x.to(model_device(model)))
    except _Reached:
        pass
    finally:
        for module, was in fused.items():
            module.fused = was
    return got["x"].float().cpu()


class ActivationStream:
    """Shuffled batches of ``batch`` activation vectors (batch, d), the model run on
    ``windows`` random windows whenever the buffer runs out."""

    def __init__(self, model: TransformerModel, site: Site, windows: TokenWindows,
                 batch: int, refill_windows: int = 64, seed: int = 0) -> None:
        self.model, self.site, self.windows, self.batch = model, site, windows, batch
        self.refill_windows = refill_windows
        self.generator = torch.Generator().manual_seed(seed)
        self.buffer = torch.empty(0)
        self.served = 0  # activation vectors handed out

    def _refill(self) -> None:
        x = self.windows.draw(self.refill_windows, self.generator)
        acts = site_activations(self.model, self.site, x).flatten(0, 1)
        rest = self.buffer
        both = torch.cat([rest, acts]) if rest.numel() else acts
        self.buffer = both[torch.randperm(both.shape[0], generator=self.generator)]

    def next(self) -> torch.Tensor:
        while self.buffer.shape[0] < self.batch:
            self._refill()
        out, self.buffer = self.buffer[:self.batch], self.buffer[self.batch:]
        self.served += out.shape[0]
        return out

    def __iter__(self) -> Iterator[torch.Tensor]:
        while True:
            yield self.next()
