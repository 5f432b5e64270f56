"""Where an SAE reads and writes: one trace step of shape (B, positions, d), or one head of
a per-head step (B, H, positions, d), and TransformerLens's names for the same places.

``site_for(model, step, head)`` checks the step against the model and finds its d;
``Site.read`` gives the (B, l, d) activations, ``Site.write`` puts new ones back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch

from explorer.analysis.attach import functions_attached
from explorer.analysis.common import AnalysisError, model_device
from explorer.analysis.locate import resid_step
from explorer.core.models import TransformerModel
from explorer.trace.steps import describe

# TransformerLens hook -> the step of layer L (resid_pre is the stream entering layer L)
_TL_LAYER = {
    "hook_resid_post": "resid_mlp",
    "hook_resid_mid": "resid_attn",
    "hook_mlp_out": "mlp.out",
    "hook_attn_out": "attn.out",
    "attn.hook_z": "attn.head_out",
    "attn.hook_result": "attn.head_out",
    "mlp.hook_post": "mlp.hidden",
    "mlp.hook_pre": "mlp.hidden_pre",
}
_TL_RE = re.compile(r"^blocks\.(\d+)\.(.+)$")


@dataclass(frozen=True)
class Site:
    """A step name (``blocks.1.resid_mlp``) and, for a per-head step, the head (0-based)."""

    step: str
    head: int | None = None

    def read(self, x: torch.Tensor) -> torch.Tensor:
        """(B, l, d) from the step's tensor."""
        return x if self.head is None else x[:, self.head]

    def write(self, x: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
        """The step's tensor with this site's part replaced by ``new`` (B, l, d)."""
        if self.head is None:
            return new.to(x)
        x = x.clone()
        x[:, self.head] = new.to(x)
        return x

    @property
    def layer(self) -> int | None:
        m = re.match(r"^blocks\.(\d+)\.", self.step)
        return int(m.group(1)) if m else None

    def label(self, model: TransformerModel) -> str:
        """What a person reads: "Layer 2 · residual after MLP" (layers, heads from 1)."""
        title = describe(self.step, model.cfg).title
        return title if self.head is None else f"{title}, head {self.head + 1}"


def from_transformer_lens(name: str, model: TransformerModel) -> str | None:
    """The step a TransformerLens hook name means (``blocks.5.hook_resid_post`` ->
    ``blocks.5.resid_mlp``), None when ``name`` is not one we map."""
    m = _TL_RE.match(name)
    if m is None:
        return {"hook_embed": "embed.token", "hook_pos_embed": "embed.position"}.get(name)
    layer, hook = int(m.group(1)), m.group(2)
    if hook == "hook_resid_pre":
        return resid_step(model, layer)
    step = _TL_LAYER.get(hook)
    return None if step is None else f"blocks.{layer}.{step}"


def step_shape(model: TransformerModel, step: str) -> tuple[int, ...]:
    """The shape of ``step`` on a two-token input (the model run once, nothing kept)."""
    seen: dict[str, tuple[int, ...]] = {}

    def look(x: torch.Tensor) -> torch.Tensor:
        seen["shape"] = tuple(x.shape)
        return x

    ids = torch.zeros(1, 2, dtype=torch.long, device=model_device(model))
    with torch.no_grad(), functions_attached(model, {step: [look]}):
        model(ids)
    return seen["shape"]


def site_for(model: TransformerModel, name: str, head: int | None = None) -> tuple[Site, int]:
    """(Site, d) for step ``name`` (ours or TransformerLens's) and ``head`` (0-based, for a
    per-head step); AnalysisError when the model has no such step or it is not per
    position."""
    if model.cfg.arch == "encoder-decoder":
        raise AnalysisError("SAEs read decoder-only or encoder-only models, not an "
                            "encoder-decoder")
    points = model.hook_points()
    step = name if name in points else from_transformer_lens(name, model)
    if step is None or step not in points:
        raise AnalysisError(f"this model has no step {name!r}: give a step such as "
                            f"blocks.0.resid_mlp, blocks.0.mlp.out, blocks.0.attn.out or "
                            f"blocks.0.attn.head_out with a head")
    shape = step_shape(model, step)
    if len(shape) == 4 and step.endswith(("head_out", ".q", ".k", ".v")):
        if head is None:
            raise AnalysisError(f"{step} holds one vector per head: give the head")
        if not 0 <= head < shape[1]:
            raise AnalysisError(f"head {head + 1} does not exist: {step} has {shape[1]} "
                                f"heads (1 to {shape[1]})")
        return Site(step, head), shape[-1]
    if len(shape) != 3 or shape[1] != 2:
        raise AnalysisError(f"{step} is not one vector per position (its shape is "
                            f"{shape}): an SAE reads a step of shape (positions, d)")
    if head is not None:
        raise AnalysisError(f"{step} is not per head: give no head")
    return Site(step), shape[-1]
