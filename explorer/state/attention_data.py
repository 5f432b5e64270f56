"""Attention patterns out of a Trace, as numpy arrays in the paper's orientation (Qt-free).

Public API:

- ``AttentionSite(prefix, stack, layer, cross)``: one attention computation of a model,
  ``prefix`` being the step-name prefix, e.g. ``"blocks.1.attn"``, ``"encoder.blocks.0.attn"``
  or ``"decoder.blocks.0.cross_attn"``. Properties: ``kind`` ("self-attention" or
  "cross-attention (decoder over encoder tokens)"), ``section`` (the head-grid section title),
  ``title(head)`` (e.g. "Decoder layer 1 · head 2 · cross-attention (decoder over encoder
  tokens)"). ``AttentionSite.parse(prefix)`` builds one from a prefix (ValueError if it is not
  one).
- ``attention_sites(trace) -> list[AttentionSite]``: every site with a recorded ``.pattern``,
  in execution order.
- ``attention_sections(trace) -> list[tuple[str, list[AttentionSite]]]``: the sites grouped by
  section, one site per layer: "self-attention" for the decoder-only and encoder-only models;
  "encoder self-attention", "decoder self-attention", "decoder cross-attention" for the
  encoder-decoder.
- ``head_weights(trace, prefix, batch=0) -> (A, masked)``: ``A`` float32 (H, l_z, l_x), the
  pattern in the paper's orientation (keys t_z down the rows, queries t_x along the columns,
  each column sums to 1); ``masked`` bool of the same shape: True where the masked scores are
  −∞ (or, if ``masked_scores`` was not recorded, where the weight is exactly 0).
- ``site_labels(site, x_labels, z_labels) -> (query_labels, key_labels)``.
- ``mask_note(site, masked) -> str``: "causal mask", "no mask (bidirectional)", ...
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

_PREFIX_RE = re.compile(r"^(?:(encoder|decoder)\.)?blocks\.(\d+)\.(attn|cross_attn)$")
CROSS_KIND = "cross-attention (decoder over encoder tokens)"


@dataclass(frozen=True)
class AttentionSite:
    """One attention computation: which stack, which layer, self or cross."""

    prefix: str
    stack: str | None
    layer: int
    cross: bool

    @classmethod
    def parse(cls, prefix: str) -> AttentionSite:
        m = _PREFIX_RE.match(prefix)
        if m is None:
            raise ValueError(f"not an attention step prefix: {prefix!r} "
                             "(expected e.g. 'blocks.0.attn' or 'decoder.blocks.0.cross_attn')")
        return cls(prefix, m.group(1), int(m.group(2)), m.group(3) == "cross_attn")

    @property
    def kind(self) -> str:
        return CROSS_KIND if self.cross else "self-attention"

    @property
    def section(self) -> str:
        if self.stack is None:
            return "self-attention"
        if self.cross:
            return "decoder cross-attention"
        return f"{self.stack} self-attention"

    def title(self, head: int | None) -> str:
        where = f"{self.stack.capitalize()} layer" if self.stack else "Layer"
        head_text = "all heads" if head is None else f"head {head + 1}"
        return f"{where} {self.layer + 1} · {head_text} · {self.kind}"


def attention_sites(trace: Mapping[str, torch.Tensor]) -> list[AttentionSite]:
    """Every attention site whose pattern the trace holds, in execution order."""
    sites = []
    for name in trace:
        if name.endswith(".pattern"):
            try:
                sites.append(AttentionSite.parse(name[: -len(".pattern")]))
            except ValueError:
                continue
    return sites


def attention_sections(trace: Mapping[str, torch.Tensor]) -> list[tuple[str, list[AttentionSite]]]:
    """The sites grouped into head-grid sections, in order, each sorted by layer."""
    order = ["self-attention", "encoder self-attention", "decoder self-attention",
             "decoder cross-attention"]
    groups: dict[str, list[AttentionSite]] = {}
    for site in attention_sites(trace):
        groups.setdefault(site.section, []).append(site)
    return [(title, sorted(groups[title], key=lambda s: s.layer))
            for title in order if title in groups]


def _pattern_and_mask(trace: Mapping[str, torch.Tensor], prefix: str,
                      batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The pattern (H, l_x, l_z) of batch element ``batch`` as float, and where it is
    masked (broadcastable to it): a lean trace gives the mask by the paper's rule without
    recomputing the scores; a plain mapping from its masked scores, else from zeros."""
    name = f"{prefix}.pattern"
    if name not in trace:
        raise KeyError(f"the trace has no attention pattern {name!r}")
    pattern = trace[name][batch].float()
    if hasattr(trace, "masked") and f"{prefix}.masked_scores" in trace:
        return pattern, trace.masked(prefix, batch)
    if f"{prefix}.masked_scores" in trace:
        return pattern, torch.isneginf(trace[f"{prefix}.masked_scores"][batch])
    return pattern, pattern == 0.0


def head_weights(trace: Mapping[str, torch.Tensor], prefix: str,
                 batch: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The pattern (H, l_z, l_x) of batch element ``batch`` and where it is masked."""
    pattern, masked = _pattern_and_mask(trace, prefix, batch)
    weights = np.ascontiguousarray(pattern.transpose(-1, -2).numpy(), dtype=np.float32)
    masked = np.broadcast_to(masked.transpose(-1, -2).numpy(), weights.shape)
    return weights, np.ascontiguousarray(masked)


def thumbnail_weights(trace: Mapping[str, torch.Tensor], prefix: str, batch: int = 0,
                      most: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Like ``head_weights`` (H, l_z, l_x), but cut to at most ``most`` cells a side for
    thumbnails: each cell the largest weight of the block of positions it covers (a sharp
    attention to one token stays visible), masked only when its whole block is. Pools
    before transposing and converting, so 144 heads of a 256-token text stay cheap."""
    return pool_pattern(*_pattern_and_mask(trace, prefix, batch), most)


def pool_pattern(pattern: torch.Tensor, masked: torch.Tensor,
                 most: int) -> tuple[np.ndarray, np.ndarray]:
    """(H, l_x, l_z) weights and their mask (broadcastable) -> (H, n_z, n_x) pooled
    weights and mask in the paper's orientation, n ≤ ``most`` (see ``thumbnail_weights``)."""
    l_x, l_z = pattern.shape[-2:]
    fx, fz = -(-l_x // most), -(-l_z // most)  # ceil: positions per cell
    if masked.dim() == 2:  # one mask for every head (the paper's rule, a lean trace)
        # its cells weigh exactly 0 (the softmax of −∞): pool the weights as they are,
        # and the mask once for all heads
        weights = _max_pool(pattern, fx, fz).transpose(-1, -2).numpy()
        cover = _max_pool((~masked).float()[None], fx, fz)[0].transpose(-1, -2).numpy()
        mask = np.broadcast_to(cover == 0.0, weights.shape)
        return np.ascontiguousarray(weights), np.ascontiguousarray(mask)
    shown = _max_pool(torch.where(masked, torch.tensor(-1.0), pattern), fx, fz)
    shown = shown.transpose(-1, -2).numpy()
    return np.ascontiguousarray(np.maximum(shown, 0.0)), np.ascontiguousarray(shown < 0)


def _max_pool(t: torch.Tensor, fx: int, fz: int) -> torch.Tensor:
    """(H, l_x, l_z) -> the largest value of each fx × fz block (H, ⌈l_x/fx⌉, ⌈l_z/fz⌉)."""
    if fx == 1 and fz == 1:
        return t
    # heads as channels, channels last: torch's fastest layout for this on the CPU
    x = t[None].contiguous(memory_format=torch.channels_last)
    return torch.nn.functional.max_pool2d(x, (fx, fz), ceil_mode=True)[0]


def site_labels(site: AttentionSite, x_labels: Sequence[str],
                z_labels: Sequence[str] | None) -> tuple[list[str], list[str]]:
    """(query labels, key labels): cross-attention's keys and the encoder's tokens are z."""
    xs = list(x_labels)
    zs = list(z_labels) if z_labels is not None else xs
    if site.cross:
        return xs, zs
    if site.stack == "encoder":
        return zs, zs
    return xs, xs


def mask_note(site: AttentionSite, masked: np.ndarray) -> str:
    """A short description of the mask of one site (``masked``: (..., l_z, l_x) bool)."""
    m = masked.reshape(-1, *masked.shape[-2:])[0]
    if not m.any():
        return "no mask (bidirectional)" if not site.cross else "no mask (every encoder token)"
    lz, lx = m.shape
    if lz == lx and np.array_equal(m, np.tril(np.ones((lz, lx), dtype=bool), -1)):
        return "causal mask: t_z ≤ t_x"
    return "masked where Mask[t_z, t_x] = 0"
