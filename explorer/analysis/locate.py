"""Where an intervention acts: a model's stacks, the steps of a layer, the residual stream
entering a layer, and the index checks every intervention makes."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from explorer.analysis.common import AnalysisError
from explorer.core.models import TransformerModel


def stack_module(model: TransformerModel, stack: str | None) -> nn.Module:
    """The stack an intervention names (None: the stack that feeds the output)."""
    if model.cfg.arch != "encoder-decoder":
        if stack not in (None, ""):
            raise AnalysisError(f"this {model.cfg.arch} has one stack: give no stack, "
                                f"not {stack!r}")
        return model.stack
    if stack in (None, "decoder"):
        return model.decoder
    if stack == "encoder":
        return model.encoder
    raise AnalysisError(f"stack {stack!r} is not 'encoder' or 'decoder'")


def output_logits(model: TransformerModel, h: torch.Tensor) -> torch.Tensor:
    """Logits of hidden states h (..., d_e) leaving the stack that feeds the output: its
    final norm where it has one, the encoder's MLM head where there is one, then W_u."""
    stack = stack_module(model, None)
    if stack.final_norm is not None:
        h = stack.final_norm(h)
    head = getattr(model, "head", None)
    if head is not None:
        h = head(h)
    return model.unembed(h)


def stack_name(model: TransformerModel, stack: str | None) -> str:
    """The step-name prefix of the stack ("", "encoder." or "decoder.")."""
    stack_module(model, stack)
    if model.cfg.arch != "encoder-decoder":
        return ""
    return "encoder." if stack == "encoder" else "decoder."


def resid_step(model: TransformerModel, layer: int, stack: str | None = None) -> str:
    """The step holding the residual stream that enters layer ``layer``: the embedding's
    output for layer 0, else the previous layer's output (its MLP residual, or for
    post-norm that residual normalised)."""
    prefix = stack_name(model, stack)
    mod = stack_module(model, stack)
    if layer == 0:
        return f"{prefix}embed.norm" if mod.embed.norm is not None else f"{prefix}embed.sum"
    last = "resid_mlp" if model.cfg.norm_placement == "pre" else "mlp_norm"
    return f"{prefix}blocks.{layer - 1}.{last}"


def check_index(value: Any, what: str, count: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise AnalysisError(f"the {what} must be a whole number, not {value!r}")
    if not 0 <= value < count:
        raise AnalysisError(f"{what} {value} does not exist: there are {count} "
                            f"(0 to {count - 1})")
    return value


def check_position_index(value: Any, what: str, length: int) -> int:
    """A position of an intervention as an index 0 … length−1; a negative one counts from
    the end, as in Python (−1 is the last)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise AnalysisError(f"the {what} must be a whole number, not {value!r}")
    if not -length <= value < length:
        raise AnalysisError(f"{what} {value} does not exist: there are {length} (0 to "
                            f"{length - 1}, or −{length} to −1 from the end)")
    return value + length if value < 0 else value


def causal(model: TransformerModel, stack: str | None) -> bool:
    arch = model.cfg.arch
    return arch == "decoder" or (arch == "encoder-decoder" and stack != "encoder")
