"""The graph of heads: one way to name, count, lay out and write the parts of a model that
the progress measures (composition scores between heads, ``explorer.analysis.heads``) and
circuit discovery (edge attribution, ``explorer.analysis.circuit``) connect, so that the
Time-lapse's head anatomy, the Circuit view, the command line and scenes agree.

A ``Node`` counts layers and heads from 0, as the Python API and trace names do; its
``label`` and ``to_json`` count them from 1, as the paper, the window and the command line
do: ``Node("head", 0, 1).label == "L1H2"``. A head's inputs are its own nodes (``port``
"q", "k" or "v"), so that an edge can end in a head's query, key or value input
(K-composition, EAP's receivers); ``Node.output`` drops the port.

An encoder-decoder (Algorithm 8) names its stacks: ``stack`` is "encoder" or "decoder"
("" for a one-stack model), and the decoder's cross-attention heads are ``kind="cross"``:
their key and value inputs read the encoder's output Z, their query input the decoder's
own residual stream.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

KINDS = ("embed", "head", "cross", "mlp", "logits")
PORTS = ("", "q", "k", "v")
STACKS = ("", "encoder", "decoder")
_STACK_PREFIX = {"": "", "encoder": "enc ", "decoder": "dec "}


@dataclass(frozen=True, order=True)
class Node:
    """One part of the model: the token (and position) embedding, a self-attention head,
    a cross-attention head, an MLP, or the logits. ``layer`` and ``head`` count from 0
    (-1 where they do not apply)."""

    kind: str
    layer: int = -1
    head: int = -1
    stack: str = ""
    port: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"node kind must be one of {KINDS}, not {self.kind!r}")
        if self.port not in PORTS:
            raise ValueError(f"node port must be one of {PORTS}, not {self.port!r}")
        if self.stack not in STACKS:
            raise ValueError(f"node stack must be one of {STACKS}, not {self.stack!r}")
        if self.port and self.kind not in ("head", "cross"):
            raise ValueError(f"only a head has q/k/v inputs, not {self.kind!r}")
        if self.kind in ("head", "cross") and (self.layer < 0 or self.head < 0):
            raise ValueError("a head node needs its layer and head (from 0)")
        if self.kind == "mlp" and self.layer < 0:
            raise ValueError("an MLP node needs its layer (from 0)")

    def at(self, port: str) -> Node:
        """This head's ``port`` input ("q", "k" or "v"; "" its output)."""
        return Node(self.kind, self.layer, self.head, self.stack, port)

    @property
    def output(self) -> Node:
        return self.at("") if self.port else self

    @property
    def label(self) -> str:
        """As a person reads it, layers and heads from 1: ``L1H2``, ``L2H1.k``, ``MLP1``,
        ``embed``, ``logits``; ``enc L1H2``, ``dec L1X2`` (cross-attention) in Algorithm 8."""
        prefix = _STACK_PREFIX[self.stack]
        if self.kind in ("embed", "logits"):
            return prefix + self.kind
        if self.kind == "mlp":
            return f"{prefix}MLP{self.layer + 1}"
        letter = "X" if self.kind == "cross" else "H"
        port = f".{self.port}" if self.port else ""
        return f"{prefix}L{self.layer + 1}{letter}{self.head + 1}{port}"

    def to_json(self) -> dict[str, Any]:
        """Layers and heads from 1 (``None`` where they do not apply), with the label."""
        out: dict[str, Any] = {"label": self.label, "kind": self.kind,
                               "layer": self.layer + 1 if self.layer >= 0 else None,
                               "head": self.head + 1 if self.head >= 0 else None}
        if self.stack:
            out["stack"] = self.stack
        if self.port:
            out["port"] = self.port
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Node:
        """The inverse of ``to_json`` (the label is not read); ValueError on a bad field."""
        try:
            layer, head = data.get("layer"), data.get("head")
            return cls(str(data["kind"]), int(layer) - 1 if layer is not None else -1,
                       int(head) - 1 if head is not None else -1,
                       str(data.get("stack", "")), str(data.get("port", "")))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a node: {data!r}") from exc


@dataclass(frozen=True)
class Edge:
    """``source`` (an output) writes into ``target`` (an input: a head's port, an MLP or
    the logits); ``score`` is what the analysis measured (signed)."""

    source: Node
    target: Node
    score: float

    def to_json(self) -> dict[str, Any]:
        return {"from": self.source.label, "to": self.target.label, "score": self.score}


@dataclass
class Graph:
    """Nodes and scored edges. ``top``/``above`` choose a circuit by |score|."""

    nodes: list[Node]
    edges: list[Edge] = field(default_factory=list)

    def ranked(self) -> list[Edge]:
        """The edges by |score|, largest first (ties in node order, so it is stable)."""
        return sorted(self.edges, key=lambda e: (-abs(e.score), e.source, e.target))

    def top(self, n: int) -> Graph:
        return Graph(list(self.nodes), self.ranked()[:max(0, n)])

    def above(self, threshold: float) -> Graph:
        return Graph(list(self.nodes), [e for e in self.ranked() if abs(e.score) >= threshold])

    def into(self, node: Node) -> list[Edge]:
        return [e for e in self.edges if e.target == node]

    def out_of(self, node: Node) -> list[Edge]:
        return [e for e in self.edges if e.source == node]

    def to_json(self) -> dict[str, Any]:
        return {"nodes": [n.to_json() for n in self.nodes],
                "edges": [e.to_json() for e in self.ranked()]}

    def by_label(self) -> dict[str, Node]:
        return {n.label: n for n in self.nodes}


def stack_nodes(n_layers: int, n_heads: int, *, mlp: bool = True, stack: str = "",
                cross_heads: int = 0) -> list[Node]:
    """The outputs of one stack in the order they write to the residual stream: per layer
    its heads, then its cross-attention heads (``cross_heads`` of them, Algorithm 8's
    decoder), then its MLP (``mlp=False``: attention-only layers)."""
    nodes: list[Node] = []
    for layer in range(n_layers):
        nodes += [Node("head", layer, h, stack) for h in range(n_heads)]
        nodes += [Node("cross", layer, h, stack) for h in range(cross_heads)]
        if mlp:
            nodes.append(Node("mlp", layer, stack=stack))
    return nodes


def layout(nodes: Iterable[Node]) -> dict[Node, tuple[float, float]]:
    """Where to draw each node, Qt-free: y is the depth (embed 0, layer l's heads at l + 1,
    its MLP half a row above them, the logits on top), x the head's place in its layer
    centred on 0 (self-attention heads, then cross-attention heads); the encoder's stack
    left of the decoder's. Ports sit on their head, spread a little (q, k, v)."""
    nodes = list(nodes)
    selves: dict[tuple[str, int], int] = {}
    crosses: dict[tuple[str, int], int] = {}
    for n in nodes:
        count = selves if n.kind == "head" else crosses if n.kind == "cross" else None
        if count is not None:
            count[(n.stack, n.layer)] = max(count.get((n.stack, n.layer), 0), n.head + 1)
    widest = max((selves.get(k, 0) + crosses.get(k, 0) for k in {*selves, *crosses}),
                 default=1)
    depth = {s: max((m.layer for m in nodes if m.stack == s), default=0) for s in STACKS}
    place: dict[Node, tuple[float, float]] = {}
    for n in nodes:
        shift = {"encoder": -(widest + 2) / 2, "decoder": (widest + 2) / 2}.get(n.stack, 0.0)
        if n.kind == "embed":
            x, y = 0.0, 0.0
        elif n.kind == "logits":
            x, y = 0.0, depth[n.stack] + 2.0
        elif n.kind == "mlp":
            x, y = 0.0, n.layer + 1.5
        else:
            key = (n.stack, n.layer)
            count = selves.get(key, 0) + crosses.get(key, 0)
            slot = n.head if n.kind == "head" else selves.get(key, 0) + n.head
            x = slot - (count - 1) / 2 + {"q": -0.2, "k": 0.0, "v": 0.2}.get(n.port, 0.0)
            y = n.layer + 1.0
        place[n] = (x + shift, y)
    return place


def parse_label(label: str, nodes: Sequence[Node]) -> Node:
    """The node whose ``label`` is ``label`` (as typed, from 1); ValueError naming some of
    the labels there are."""
    for n in nodes:
        if n.label == label.strip():
            return n
    names = ", ".join(n.label for n in list(nodes)[:6])
    raise ValueError(f"no node {label!r}; nodes are named like {names}, … (layers and heads "
                     "count from 1)")
