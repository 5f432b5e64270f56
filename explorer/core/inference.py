"""Algorithms 14 and 15: sampling from a decoder and from an encoder-decoder.

Sampling follows the paper: y is drawn from q ∝ p^{1/τ}, i.e. softmax(logits / τ).
τ = 0 means greedy (argmax). Top-k and top-p (nucleus) truncation are optional.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch

from explorer.core.models import EDTransformer, TransformerModel


def tempered(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """q ∝ p^{1/τ} over the last dimension; τ = 0 gives the one-hot of the argmax."""
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, not {temperature}")
    if temperature == 0:
        q = torch.zeros_like(logits, dtype=torch.float32)
        return q.scatter_(-1, logits.argmax(dim=-1, keepdim=True), 1.0)
    return torch.softmax(logits.float() / temperature, dim=-1)


def truncate(q: torch.Tensor, top_k: int | None = None, top_p: float | None = None) -> torch.Tensor:
    """Keep the top-k tokens and/or the smallest set with mass >= top_p; renormalise."""
    if top_k is not None and top_k > 0 and top_k < q.shape[-1]:
        kth = torch.topk(q, top_k, dim=-1).values[..., -1:]
        q = torch.where(q >= kth, q, torch.zeros_like(q))
    if top_p is not None and 0 < top_p < 1:
        sorted_q, order = torch.sort(q, dim=-1, descending=True)
        before = sorted_q.cumsum(dim=-1) - sorted_q  # mass strictly before each token
        keep_sorted = before < top_p
        keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)
        q = torch.where(keep, q, torch.zeros_like(q))
    return q / q.sum(dim=-1, keepdim=True)


def next_token_distribution(
    logits: torch.Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
) -> torch.Tensor:
    """The distribution a token is sampled from, given logits of the last position."""
    return truncate(tempered(logits, temperature), top_k, top_p)


@dataclass(frozen=True)
class GenerationStep:
    """One sampled token: its id, the distribution q it was drawn from, and p itself."""

    token: int
    q: torch.Tensor  # (N_V,) after temperature and truncation
    p: torch.Tensor  # (N_V,) the model's softmax at that position


def _generator(seed: int | None, device: torch.device) -> torch.Generator | None:
    if seed is None:
        return None
    g = torch.Generator(device=device)
    g.manual_seed(seed)
    return g


@contextmanager
def _inference(model: TransformerModel) -> Iterator[None]:
    """Eval mode and no gradients for one step; both restored on leaving, so a generator
    suspended between steps never leaves the caller's thread without gradients."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)


class NonFiniteOutput(ValueError):
    """The model's output holds NaN or infinite values: there is nothing to sample from."""


def require_finite(values: torch.Tensor, what: str = "distribution to sample from") -> None:
    """NonFiniteOutput unless every value of the model's output is a finite number."""
    if not bool(torch.isfinite(values).all()):
        bad = int((~torch.isfinite(values)).sum())
        raise NonFiniteOutput(
            f"the model's output holds {bad} NaN or infinite value(s) of {values.numel()}, "
            f"so there is no {what} (are its weights finite numbers?)"
        )


def _sample(q: torch.Tensor, gen: torch.Generator | None, logits: torch.Tensor) -> int:
    require_finite(logits)
    require_finite(q)
    return int(torch.multinomial(q, 1, generator=gen).item())


def d_inference_steps(
    model: TransformerModel,
    prompt: list[int],
    max_new: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    stop_id: int | None = None,
) -> Iterator[GenerationStep]:
    """Algorithm 14: DInference, one generated token at a time.

    The context is cut to the last l_max tokens when it grows longer (a sliding
    window), since the model cannot see further back.
    """
    if not prompt:
        raise ValueError("the prompt is empty: give at least one token (e.g. bos)")
    device = next(model.parameters()).device
    gen = _generator(seed, device)
    x = list(prompt)
    for _ in range(max_new):
        with _inference(model):  # left before each yield: the caller's modes are its own
            window = torch.tensor([x[-model.cfg.l_max :]], device=device)
            logits = model(window)[0, -1]  # p ← P[:, last]
            q = next_token_distribution(logits, temperature, top_k, top_p)
            y = _sample(q, gen, logits)
            step = GenerationStep(y, q.cpu(), torch.softmax(logits.float(), -1).cpu())
        x.append(y)
        yield step
        if stop_id is not None and y == stop_id:
            return


def generate(
    model: TransformerModel,
    prompt: list[int],
    max_new: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    stop_id: int | None = None,
) -> list[int]:
    """Algorithm 14: DInference. Returns the generated tokens (without the prompt)."""
    steps = d_inference_steps(model, prompt, max_new, temperature, top_k, top_p, seed, stop_id)
    return [s.token for s in steps]


def ed_inference_steps(
    model: EDTransformer,
    context: list[int],
    bos_id: int,
    eos_id: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    max_len: int | None = None,
) -> Iterator[GenerationStep]:
    """Algorithm 15: EDInference, from bos_token until eos_token or l_max tokens."""
    if not context:
        raise ValueError("the context z is empty")
    device = next(model.parameters()).device
    gen = _generator(seed, device)
    limit = min(max_len or model.cfg.l_max, model.cfg.l_max)
    x = [bos_id]
    with _inference(model):
        Z = model.encode(torch.tensor([context], device=device))  # the encoder runs once
    while len(x) < limit:
        with _inference(model):
            logits = model.decode(Z, torch.tensor([x], device=device))[0, -1]
            q = next_token_distribution(logits, temperature, top_k, top_p)
            y = _sample(q, gen, logits)
            step = GenerationStep(y, q.cpu(), torch.softmax(logits.float(), -1).cpu())
        x.append(y)
        yield step
        if y == eos_id:
            return


def ed_generate(
    model: EDTransformer,
    context: list[int],
    bos_id: int,
    eos_id: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    max_len: int | None = None,
) -> list[int]:
    """Algorithm 15: EDInference. Returns x̂ with bos (and eos, if reached) included."""
    steps = ed_inference_steps(
        model, context, bos_id, eos_id, temperature, top_k, top_p, seed, max_len
    )
    return [bos_id] + [s.token for s in steps]
