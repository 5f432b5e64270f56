"""What every analysis shares: its error type, the input checks and the trace it reads.

An analysis is a function of a model, its input ids (and, for an encoder-decoder, the
context ids z) and optionally a trace already recorded for exactly those ids
(``explorer.trace.record``). A trace recorded for other ids, or lacking a step the
analysis needs, is not used: the analysis records its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch

from explorer.core.models import TransformerModel
from explorer.trace import Trace, record
from explorer.trace.record import weights_key

Ids = Sequence[int] | torch.Tensor


class AnalysisError(ValueError):
    """A request an analysis cannot answer (an empty text, a token outside the vocabulary,
    a position out of range, a model without a token output). The message is one sentence
    meant to be shown to the user as it is."""


@dataclass(frozen=True)
class Inputs:
    """A model's input, checked: x (1, l) and, for an encoder-decoder, the context z (1, l_z),
    both on the model's device."""

    x: torch.Tensor
    z: torch.Tensor | None = None

    @property
    def length(self) -> int:
        return int(self.x.shape[1])

    def args(self) -> tuple[torch.Tensor, ...]:
        """The positional arguments of ``model(...)``."""
        return (self.x,) if self.z is None else (self.z, self.x)


def model_device(model: TransformerModel) -> torch.device:
    return next(model.parameters()).device


def as_ids(ids: Ids, what: str, cfg, device: torch.device) -> torch.Tensor:
    t = ids if isinstance(ids, torch.Tensor) else torch.tensor(list(ids), dtype=torch.long)
    if t.dim() == 2 and t.shape[0] == 1:
        t = t[0]
    if t.dim() != 1:
        raise AnalysisError(f"{what} must be one sequence of token ids, not shape "
                            f"{tuple(t.shape)}")
    if t.numel() == 0:
        raise AnalysisError(f"{what} is empty: type some text first")
    if t.is_floating_point() or t.is_complex():
        raise AnalysisError(f"{what} must hold integer token ids, not {t.dtype}")
    lo, hi = int(t.min()), int(t.max())
    if lo < 0 or hi >= cfg.vocab_size:
        bad = lo if lo < 0 else hi
        raise AnalysisError(f"{what} holds token id {bad}, outside the model's vocabulary "
                            f"[0, {cfg.vocab_size})")
    if t.numel() > cfg.l_max:
        raise AnalysisError(f"{what} has {t.numel()} tokens, more than the model's "
                            f"ℓ_max = {cfg.l_max}: shorten the text")
    return t.to(device=device, dtype=torch.long)[None]


def prepare(model: TransformerModel, ids: Ids, context: Ids | None = None) -> Inputs:
    """Check ``ids`` (and the context an encoder-decoder needs) and put them on the device."""
    cfg = model.cfg
    device = model_device(model)
    x = as_ids(ids, "the input", cfg, device)
    if cfg.arch == "encoder-decoder":
        if context is None:
            raise AnalysisError("an encoder-decoder needs a context (the source text z) "
                                "besides its input x")
        return Inputs(x, as_ids(context, "the context", cfg, device))
    if context is not None:
        raise AnalysisError(f"a context z is for an encoder-decoder, not for this {cfg.arch}")
    return Inputs(x)


def stack_prefix(cfg) -> str:
    """Where the stack that feeds the output is named in a trace (the decoder's for Alg 8)."""
    return "decoder." if cfg.arch == "encoder-decoder" else ""


def check_position(position: int, length: int) -> int:
    """The position as an index 0 … length−1; a negative one counts from the end, as in
    Python (−1 is the last)."""
    if not isinstance(position, int) or isinstance(position, bool):
        raise AnalysisError(f"the position must be a whole number, not {position!r}")
    if not -length <= position < length:
        raise AnalysisError(f"position {position} is out of range: the text has {length} "
                            f"tokens (positions 0 to {length - 1}, or −{length} to −1 from "
                            "the end)")
    return position + length if position < 0 else position


def check_token(token: int, cfg, what: str = "the target token") -> int:
    if not isinstance(token, int) or isinstance(token, bool):
        raise AnalysisError(f"{what} must be a token id, not {token!r}")
    if not 0 <= token < cfg.vocab_size:
        raise AnalysisError(f"{what} id {token} is not in the model's vocabulary "
                            f"[0, {cfg.vocab_size})")
    return token


def _matches(trace: Trace, inputs: Inputs, needed: Iterable[str]) -> bool:
    if getattr(trace, "cfg", None) is None:
        return False
    try:
        for name in needed:
            if name not in trace:
                return False
        prefix = stack_prefix(trace.cfg)
        x = trace[f"{prefix}embed.ids"]
        if x.shape != inputs.x.shape or not torch.equal(x.cpu(), inputs.x.cpu()):
            return False
        if inputs.z is not None:
            z = trace["encoder.embed.ids"]
            if z.shape != inputs.z.shape or not torch.equal(z.cpu(), inputs.z.cpu()):
                return False
    except KeyError:
        return False
    return True


def recorded_with(trace: Trace | None, model: TransformerModel) -> bool:
    """Whether ``trace`` may be read as ``model``'s: the same configuration, and its
    weights as they are now when the trace knows them (``record`` notes them; a trace
    from earlier weights, as training replaces them, is not this model's)."""
    if trace is None or getattr(trace, "cfg", None) != model.cfg:
        return False
    key = getattr(trace, "weights", None)
    return key is None or key == weights_key(model)


def trace_for(model: TransformerModel, inputs: Inputs, trace: Trace | None,
              needed: Sequence[str]) -> Trace:
    """``trace`` when it was recorded for exactly these inputs and holds ``needed``, with
    these weights (``recorded_with``); otherwise a new recording of just the steps the
    analysis reads."""
    prefix = stack_prefix(model.cfg)
    ids_names = [f"{prefix}embed.ids"] + (["encoder.embed.ids"] if inputs.z is not None else [])
    if recorded_with(trace, model) and _matches(trace, inputs, needed):
        return trace
    _, fresh = record(model, *inputs.args(), names=[*needed, *ids_names])
    return fresh


def unembedding(model: TransformerModel) -> tuple[torch.Tensor, torch.Tensor | None]:
    """W_u (N_V, d) as torch stores it, and its bias (or None)."""
    linear = model.unembed.W_u
    return linear.weight, linear.bias


def check_token_output(cfg, notes: Sequence[str] = ()) -> None:
    """Raise when the model has no trained distribution over tokens to analyse: a
    classifier (its output is P(c | x)) or a checkpoint imported without its output head
    (``notes`` are ``explorer.io.open_model``'s)."""
    from explorer.io.bert import NO_HEAD_NOTE

    extra = cfg.extra if isinstance(getattr(cfg, "extra", None), dict) else {}
    if cfg.n_classes or extra.get("task") == "classify":
        raise AnalysisError("this model is a classifier: it has no token output head, so "
                            "there is no distribution over tokens to analyse")
    if any(NO_HEAD_NOTE in str(note) for note in notes):
        raise AnalysisError("this model folder has no output head (no MLM head), so its "
                            "distribution over tokens means nothing")
