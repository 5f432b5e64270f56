"""A forward pass through the graph of heads (``explorer.analysis.graph``) in which every
edge can be cut: the engine of edge attribution, its faithfulness and path patching.

The residual stream is the sum of what the nodes write into it: the embedding, each
head's share W_o^h Y^h of its layer's attention output (the bias b_o stays with the
layer), each MLP (Algorithm 10; in a post-norm model, Algorithms 8 and 9, the stream is
normalised after each sub-block and the sum is taken between the norms). A receiver, one
head's query, key or value input, an MLP or the logits, reads its own copy of that stream,
in which each upstream node's contribution is either the run's own ("in the circuit") or
a fixed other value (the corrupted run's, or its mean over positions). With every
contribution its own, the pass is the model's forward pass; with none, every receiver
reads the other run's stream, and the pass is the other run. In an encoder-decoder the
decoder's cross-attention heads read their query from the decoder's stream and their key
and value from the encoder's, so that edges run from every encoder node into them.

``EdgeRun`` holds a pass: ``mask`` (B, R, U) chooses the edges per batch row (1: the run's
own), ``embeds`` replaces the embedding node's output per stack (integrated gradients),
``grads`` keeps the gradient points (each receiver's copy of the stream where an upstream
node's contribution enters it) for ``EdgeGraph.scores``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from explorer.analysis.graph import Node
from explorer.analysis.locate import output_logits, stack_module
from explorer.core.models import TransformerModel


@dataclass
class Step:
    """Nodes that write into one stack's stream together (upstream indices u0 … u1 − 1),
    the bias added with them and the norm after them (post-norm)."""

    stack: str
    nodes: list[Node]
    u0: int
    bias: torch.Tensor | None = None
    norm: nn.Module | None = None

    @property
    def u1(self) -> int:
        return self.u0 + len(self.nodes)


@dataclass
class EdgeRun:
    """One batched pass: the inputs per stack, and what to cut (see the module's doc)."""

    ids: dict[str, torch.Tensor]
    rows: int = 1
    mask: torch.Tensor | None = None  # (B, R, U), 1 = the run's own contribution
    other: list[torch.Tensor] | None = None  # per step (n, l, d): the cut edges' values
    embeds: dict[str, torch.Tensor] = field(default_factory=dict)
    grads: bool = False
    out: list[torch.Tensor] = field(default_factory=list)  # per step (B, n, l, d)
    points: list[tuple[int, int, int, torch.Tensor]] = field(default_factory=list)
    diffs: dict[str, torch.Tensor] = field(default_factory=dict)  # own − other per stack
    base: dict[str, int] = field(default_factory=dict)  # each stack's first upstream index


class EdgeGraph:
    """The upstream nodes (outputs, U of them) and receivers (inputs, R) of a model, and
    its forward pass through them (``forward``)."""

    def __init__(self, model: TransformerModel) -> None:
        self.model = model
        cfg = model.cfg
        self.pre = cfg.norm_placement == "pre"
        self.stacks = ["encoder", "decoder"] if cfg.arch == "encoder-decoder" else [""]
        self.steps: list[Step] = []
        self.receivers: list[Node] = []
        self.first: dict[tuple, int] = {}  # (stack, layer, part) → first receiver index
        for stack in self.stacks:
            self._stack(stack, cfg.arch == "encoder-decoder" and stack == "decoder")
        self.upstream = [n for s in self.steps for n in s.nodes]
        self.index = {n: i for i, n in enumerate(self.receivers)}
        self.n_encoder = len([s for s in self.steps if s.stack == "encoder"])

    def _stack(self, stack: str, cross: bool) -> None:
        mod = stack_module(self.model, stack or None)
        u = self.steps[-1].u1 if self.steps else 0
        self.steps.append(Step(stack, [Node("embed", stack=stack)], u))
        for i, block in enumerate(mod.blocks):
            H = block.attn.n_heads
            self._receive(stack, i, "attn", [Node("head", i, h, stack, p) for p in "qkv"
                                             for h in range(H)])
            self.steps.append(Step(stack, [Node("head", i, h, stack) for h in range(H)],
                                   self.steps[-1].u1, block.attn.W_o.bias,
                                   None if self.pre else block.attn_norm))
            if cross:
                X = block.cross_attn.n_heads
                self._receive(stack, i, "cross", [Node("cross", i, h, stack, p) for p in "qkv"
                                                  for h in range(X)])
                self.steps.append(Step(stack, [Node("cross", i, h, stack) for h in range(X)],
                                       self.steps[-1].u1, block.cross_attn.W_o.bias,
                                       None if self.pre else block.cross_norm))
            self._receive(stack, i, "mlp", [Node("mlp", i, stack=stack)])
            self.steps.append(Step(stack, [Node("mlp", i, stack=stack)], self.steps[-1].u1,
                                   None, None if self.pre else block.mlp_norm))
        if not cross and len(self.stacks) == 2:
            return  # the encoder's output is read by the decoder's cross-attention
        self._receive(stack, -1, "logits", [Node("logits", stack=stack)])

    def _receive(self, stack: str, layer: int, part: str, nodes: list[Node]) -> None:
        self.first[(stack, layer, part)] = len(self.receivers)
        self.receivers += nodes

    # -- which edges exist ------------------------------------------------------------
    def sources(self, receiver: Node) -> range:
        """The upstream indices whose contributions ``receiver`` reads."""
        end = self._steps_before(receiver)
        stack = "encoder" if receiver.kind == "cross" and receiver.port in ("k", "v") \
            else receiver.stack
        steps = [s for s in self.steps if s.stack == stack][:end]
        return range(steps[0].u0, steps[-1].u1)

    def _steps_before(self, r: Node) -> int:
        """How many steps of its stack's stream the receiver ``r`` reads."""
        per_layer = 3 if len(self.stacks) == 2 and r.stack == "decoder" else 2
        if r.kind == "logits" or (r.kind == "cross" and r.port in ("k", "v")):
            return self.n_encoder if r.kind == "cross" else \
                len([s for s in self.steps if s.stack == r.stack])
        if r.kind == "head":
            return 1 + per_layer * r.layer
        if r.kind == "cross":
            return 2 + per_layer * r.layer
        return per_layer * (r.layer + 1)  # the MLP, after the attention (and cross) step

    def edge_mask(self) -> torch.Tensor:
        """(R, U) bool: True where an edge exists."""
        mask = torch.zeros(len(self.receivers), len(self.upstream), dtype=torch.bool)
        for r, node in enumerate(self.receivers):
            src = self.sources(node)
            mask[r, src.start:src.stop] = True
        return mask

    # -- the pass -------------------------------------------------------------------
    def _read(self, run: EdgeRun, stack: str, n_steps: int, r0: int, count: int
              ) -> torch.Tensor:
        """Receivers r0 … r0 + count − 1: their copies (B, count, l, d) of the stream of
        ``stack`` after its first ``n_steps`` steps. The steps between two norms (all of
        them in a pre-norm model) enter as one sum."""
        steps = [j for j, s in enumerate(self.steps) if s.stack == stack][:n_steps]
        stream = None
        segment: list[int] = []
        for j in steps:
            segment.append(j)
            step = self.steps[j]
            if step.norm is None and j != steps[-1]:
                continue
            s = self._contribution(run, segment, r0, count)
            if stream is not None:
                s = stream + s
            if run.grads:
                if s.shape[1] != count:
                    s = s.expand(s.shape[0], count, *s.shape[2:])
                if s.requires_grad:
                    s.retain_grad()
                else:  # nothing upstream needs a gradient (the embeddings given)
                    s = s.detach().requires_grad_()
                run.points.append((r0, segment[0], j, s))
            segment = []
            stream = step.norm(s) if step.norm is not None else s
        return stream.expand(stream.shape[0], count, *stream.shape[2:])

    def _contribution(self, run: EdgeRun, segment: list[int], r0: int, count: int
                      ) -> torch.Tensor:
        """What steps ``segment`` add to receivers r0 … r0 + count − 1's copies."""
        bias = [self.steps[j].bias for j in segment if self.steps[j].bias is not None]
        if run.mask is None:
            c = sum(run.out[j].sum(1, keepdim=True) for j in segment)
        else:
            u0, u1 = self.steps[segment[0]].u0, self.steps[segment[-1]].u1
            base = run.base[self.steps[segment[0]].stack]
            m = run.mask[:, r0:r0 + count, u0:u1]
            diff = run.diffs[self.steps[segment[0]].stack][:, u0 - base:u1 - base]
            c = sum(run.other[j].sum(0) for j in segment) + torch.einsum(
                "bgn,bnld->bgld", m.to(diff), diff)
        return c + sum(bias) if bias else c

    def _emit(self, run: EdgeRun, out: torch.Tensor) -> None:
        """A step's outputs (B, n, l, d); with a mask, their difference from the other
        values too, into the stack's buffer (read by ``_contribution``)."""
        step = self.steps[len(run.out)]
        run.out.append(out)
        if run.mask is None:
            return
        other = run.other[len(run.out) - 1] = run.other[len(run.out) - 1].to(out)
        if step.stack not in run.diffs:
            n = sum(len(s.nodes) for s in self.steps if s.stack == step.stack)
            run.base[step.stack] = step.u0
            run.diffs[step.stack] = out.new_empty(out.shape[0], n, *out.shape[2:])
        base = run.base[step.stack]
        run.diffs[step.stack][:, step.u0 - base:step.u1 - base] = out - other

    def forward(self, run: EdgeRun) -> torch.Tensor:
        """The logits (B, l, N_V) of the pass; ``run.out`` holds every node's output."""
        run.out, run.points, run.diffs, run.base = [], [], {}, {}
        if run.other is not None:
            run.other = list(run.other)
        model = self.model
        for stack in self.stacks:
            mod = stack_module(model, stack or None)
            x = run.ids[stack]
            e = run.embeds.get(stack)
            e = mod.embed(x) if e is None else e
            self._emit(run, e.expand(run.rows, *e.shape[-2:])[:, None])
            length = x.shape[1]
            causal = stack != "encoder" and model.cfg.arch != "encoder"
            mask = model.attention_mask(length, length, causal, None, x.device)
            done = 1
            for i, block in enumerate(mod.blocks):
                H = block.attn.n_heads
                xs = self._read(run, stack, done, self.first[(stack, i, "attn")], 3 * H)
                if self.pre:
                    xs = block.attn_norm(xs)
                q, k, v = xs.unflatten(1, (3, H)).unbind(1)
                self._emit(run, heads(block.attn, q, k, v, mask))
                done += 1
                if block.cross_attn is not None:
                    X = block.cross_attn.n_heads
                    r0 = self.first[(stack, i, "cross")]
                    q = self._read(run, stack, done, r0, X)
                    kv = self._read(run, "encoder", self.n_encoder, r0 + X, 2 * X)
                    if self.pre:
                        q, kv = block.cross_norm(q), model.encoder.final_norm(kv)
                    k, v = kv.unflatten(1, (2, X)).unbind(1)
                    self._emit(run, heads(block.cross_attn, q, k, v, None))
                    done += 1
                h = self._read(run, stack, done, self.first[(stack, i, "mlp")], 1)
                self._emit(run, block.mlp(block.mlp_norm(h) if self.pre else h))
                done += 1
        stack = self.stacks[-1]  # the stack that feeds the output
        return output_logits(model, self._read(run, stack, done,
                                               self.first[(stack, -1, "logits")], 1)[:, 0])


def heads(attn, xq: torch.Tensor, xk: torch.Tensor, xv: torch.Tensor,
          mask: torch.Tensor | None) -> torch.Tensor:
    """Each head's share W_o^h Y^h (B, H, l_x, d) of one attention (Algorithm 4 per head)
    when head h reads its own query, key and value inputs xq[:, h], xk[:, h], xv[:, h]."""
    H, da, dm, kv = attn.n_heads, attn.d_attn, attn.d_mid, attn.n_kv_heads
    d = xq.shape[-1]

    def project(linear: nn.Linear, x: torch.Tensor, n: int, width: int) -> torch.Tensor:
        w = linear.weight.view(n, width, d).repeat_interleave(H // n, 0)
        out = torch.einsum("bhld,hed->bhle", x, w)
        if linear.bias is not None:
            out = out + linear.bias.view(n, width).repeat_interleave(H // n, 0)[:, None]
        return out

    q, k = project(attn.W_q, xq, H, da), project(attn.W_k, xk, kv, da)
    v = project(attn.W_v, xv, kv, dm)
    if attn.rotary is not None:
        q, k = attn.rotary(q), attn.rotary(k)
    s = q @ k.transpose(-2, -1)
    if mask is not None:
        s = s.masked_fill(~mask, float("-inf"))
    y = torch.softmax(s / math.sqrt(da), dim=-1) @ v  # (B, H, l_x, d_mid)
    return torch.einsum("bhle,dhe->bhld", y, attn.W_o.weight.view(-1, H, dm))
