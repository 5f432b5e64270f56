"""Direct logit attribution: which additive part of the residual stream pushes a token.

At position t the stream that reaches the output is a sum of parts: the token embedding,
the positional embedding (and BERT's token-type embedding), each head's output
W_o^h Y^h (W_o restricted to head h's columns, Algorithm 5), each attention output bias
b_o, and each MLP output. A norm is linear once its statistics are fixed, so with the
*actual* statistics of this forward pass

    LN(u) = Σ_i (p_i − mean(p_i)) ⊙ γ/σ(u) + β        (RMSnorm: Σ_i p_i ⊙ γ/rms(u))

and every part can be carried through the norm on its own. The attribution of part i is
⟨W_u[target] (− W_u[other]), its normalised vector⟩; the remainder is what no part owns:
the norms' β (and, with ``centre_parts=False``, the norms' centring) and the unembedding
bias. Parts + remainder equal the real logit (difference) up to float rounding.

Pre-norm (Algorithm 10): the parts add up in the residual stream and pass through the
final norm only. Post-norm (Algorithms 8 and 9): each layer normalises the stream after
every residual addition, so a part is *the component as it reaches the output*: carried
through every later norm, each with its own per-position scale γ/σ and centring; the β of
each of those norms joins the remainder, carried the same way. An encoder's MLM head
(W_f, GELU, norm) is not linear, so its logits cannot be attributed this way.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from explorer.analysis.common import (
    AnalysisError,
    Ids,
    check_position,
    check_token,
    prepare,
    stack_prefix,
    trace_for,
    unembedding,
)
from explorer.analysis.lens import residual_points
from explorer.analysis.locate import stack_module
from explorer.core.models import TransformerModel
from explorer.core.norm import LayerNorm, RMSNorm
from explorer.trace import Trace


@dataclass(frozen=True)
class Part:
    """One additive part of the residual stream."""

    label: str  # "token embedding", "L1 H2", "L1 attention bias", "L1 MLP", ...
    kind: str  # token, position, token_type, head, attn_bias, cross_head, cross_bias, mlp
    layer: int | None = None  # 0-based
    head: int | None = None  # 0-based
    step: str | None = None  # the trace step it comes from ("blocks.0.attn" for a head:
    # its pattern is step + ".pattern")


@dataclass(frozen=True)
class Attribution:
    """The parts' contributions to one logit (difference) at one position."""

    position: int
    target: int
    other: int | None  # the token subtracted, None for a plain logit
    parts: tuple[Part, ...]
    values: torch.Tensor  # (n_parts,) float64
    remainder: float  # the norms' β (and centring, if not in the parts) and the W_u bias
    logit: float  # the model's real logit (difference) at this position
    n_layers: int
    n_heads: int

    @property
    def total(self) -> float:
        """Parts + remainder: equals ``logit`` up to float rounding."""
        return float(self.values.sum()) + self.remainder

    def grid(self, kind: str = "head") -> torch.Tensor:
        """(L, H) the heads' values (``kind`` "head" or "cross_head"), NaN where absent."""
        out = torch.full((self.n_layers, self.n_heads), float("nan"), dtype=torch.float64)
        for part, value in zip(self.parts, self.values):
            if part.kind == kind:
                out[part.layer, part.head] = value
        return out

    def per_layer(self, kind: str) -> torch.Tensor:
        """(L,) the values of one per-layer kind ("mlp", "attn_bias", "cross_bias")."""
        out = torch.full((self.n_layers,), float("nan"), dtype=torch.float64)
        for part, value in zip(self.parts, self.values):
            if part.kind == kind:
                out[part.layer] = value
        return out

    def value(self, kind: str) -> float | None:
        """The value of a single part ("token", "position", "token_type"), None if absent."""
        for part, value in zip(self.parts, self.values):
            if part.kind == kind:
                return float(value)
        return None


class _Parts:
    """Parts (n, d) and a remainder (d,) at one position, carried through norms."""

    def __init__(self, d: int, centre: bool) -> None:
        self.parts: list[Part] = []
        self.vectors: list[torch.Tensor] = []
        self.remainder = torch.zeros(d, dtype=torch.float64)
        self.centre = centre

    def add(self, part: Part, vector: torch.Tensor) -> None:
        self.parts.append(part)
        self.vectors.append(vector.double())

    def through(self, norm: torch.nn.Module, u: torch.Tensor) -> None:
        """Apply ``norm`` with the statistics of its actual input u (d,) to every part."""
        u = u.double()
        V = torch.stack(self.vectors)  # (n, d)
        r = self.remainder
        if isinstance(norm, LayerNorm):
            mu = u.mean()
            scale = norm.gamma.detach().double().cpu() / torch.sqrt(
                u.var(unbiased=False) + norm.eps)
            if self.centre:
                V = (V - V.mean(dim=-1, keepdim=True)) * scale
                r = (r - r.mean()) * scale
            else:  # the centring −μ γ/σ is the remainder's
                V = V * scale
                r = r * scale - mu * scale
            r = r + norm.beta.detach().double().cpu()
        elif isinstance(norm, RMSNorm):
            scale = norm.gamma.detach().double().cpu() * torch.rsqrt(
                u.pow(2).mean() + norm.eps)
            V, r = V * scale, r * scale
        else:
            raise AnalysisError(f"direct logit attribution does not know the norm "
                                f"{type(norm).__name__}")
        self.vectors = list(V)
        self.remainder = r


def _heads(parts: _Parts, trace: Trace, name: str, module, t: int, layer: int,
           kind: str, bias_kind: str, title: str) -> None:
    """Add each head's W_o^h Y^h and the output bias b_o of attention module ``module``."""
    y = trace[f"{name}.head_out"][0, :, t].double()  # (H, d_mid)
    W_o = module.W_o.weight.detach().double().cpu()  # (d_out, H·d_mid)
    H, d_mid = y.shape
    for h in range(H):
        block = W_o[:, h * d_mid:(h + 1) * d_mid]
        parts.add(Part(f"L{layer + 1} {title}H{h + 1}", kind, layer, h, name), block @ y[h])
    if module.W_o.bias is not None:
        parts.add(Part(f"L{layer + 1} {title}attention bias", bias_kind, layer, None, name),
                  module.W_o.bias.detach().double().cpu())


def _needed(model: TransformerModel) -> list[str]:
    cfg = model.cfg
    p = stack_prefix(cfg)
    names = [f"{p}embed.token", f"{p}embed.sum", "logits"]
    if cfg.positions != "none":
        names.append(f"{p}embed.position")
    if cfg.n_token_types:
        names.append(f"{p}embed.token_type")
    for i, block in enumerate(stack_module(model, None).blocks):
        names += [f"{p}blocks.{i}.attn.head_out", f"{p}blocks.{i}.mlp.out",
                  f"{p}blocks.{i}.resid_attn", f"{p}blocks.{i}.resid_mlp"]
        if block.cross_attn is not None:
            names += [f"{p}blocks.{i}.cross_attn.head_out", f"{p}blocks.{i}.resid_cross"]
    return names + [pt.name for pt in residual_points(model)[-1:]]


def direct_logit_attribution(model: TransformerModel, ids: Ids, position: int, target: int,
                             other: int | None = None, *, context: Ids | None = None,
                             trace: Trace | None = None,
                             centre_parts: bool = True) -> Attribution:
    """Split the logit of ``target`` (minus that of ``other``) at ``position`` into parts.

    ``centre_parts``: each part carries its own share of the layer norms' centring (the
    default: a part's value does not depend on the others'); off, the centring goes to
    the remainder with β.
    """
    cfg = model.cfg
    if getattr(model, "head", None) is not None:
        raise AnalysisError("direct logit attribution needs a linear path to the logits; "
                            "this encoder's MLM head (W_f, GELU, norm) is not linear")
    inputs = prepare(model, ids, context)
    t = check_position(position, inputs.length)
    check_token(target, cfg)
    if other is not None:
        check_token(other, cfg, "the token to compare with")
    trace = trace_for(model, inputs, trace, _needed(model))
    p = stack_prefix(cfg)
    stack = stack_module(model, None)
    parts = _Parts(cfg.d_e, centre_parts)
    for step, label, kind in (("token", "token embedding", "token"),
                              ("position", "positional embedding", "position"),
                              ("token_type", "token-type embedding", "token_type")):
        if f"{p}embed.{step}" in trace:
            parts.add(Part(label, kind, step=f"{p}embed.{step}"), trace[f"{p}embed.{step}"][0, t])
    if stack.embed.norm is not None:
        parts.through(stack.embed.norm, trace[f"{p}embed.sum"][0, t])
    post = cfg.norm_placement == "post"
    for i, block in enumerate(stack.blocks):
        name = f"{p}blocks.{i}"
        _heads(parts, trace, f"{name}.attn", block.attn, t, i, "head", "attn_bias", "")
        if post:
            parts.through(block.attn_norm, trace[f"{name}.resid_attn"][0, t])
        if block.cross_attn is not None:
            _heads(parts, trace, f"{name}.cross_attn", block.cross_attn, t, i, "cross_head",
                   "cross_bias", "cross ")
            if post:
                parts.through(block.cross_norm, trace[f"{name}.resid_cross"][0, t])
        parts.add(Part(f"L{i + 1} MLP", "mlp", i, step=f"{name}.mlp.out"),
                  trace[f"{name}.mlp.out"][0, t])
        if post:
            parts.through(block.mlp_norm, trace[f"{name}.resid_mlp"][0, t])
    if not post and stack.final_norm is not None:
        parts.through(stack.final_norm, trace[residual_points(model)[-1].name][0, t])
    W_u, b_u = unembedding(model)
    direction = W_u[target].detach().double().cpu()
    bias = 0.0 if b_u is None else float(b_u[target].detach())
    logits = trace["logits"][0, t].double()
    logit = float(logits[target])
    if other is not None:
        direction = direction - W_u[other].detach().double().cpu()
        bias -= 0.0 if b_u is None else float(b_u[other].detach())
        logit -= float(logits[other])
    values = torch.stack(parts.vectors) @ direction
    remainder = float(parts.remainder @ direction) + bias
    return Attribution(position=t, target=target, other=other, parts=tuple(parts.parts),
                       values=values, remainder=remainder, logit=logit,
                       n_layers=len(stack.blocks), n_heads=cfg.n_heads)
