"""The graph of heads: labels count from 1, JSON round-trips, circuits rank by |score|."""

import pytest

from explorer.analysis.graph import Edge, Graph, Node, layout, parse_label, stack_nodes


def test_labels_count_from_1_and_json_round_trips():
    head = Node("head", 0, 1)
    assert head.label == "L1H2"
    assert head.at("k").label == "L1H2.k"
    assert Node("mlp", 2).label == "MLP3"
    assert Node("cross", 1, 0, "decoder").label == "dec L2X1"
    data = head.at("v").to_json()
    assert (data["layer"], data["head"], data["port"]) == (1, 2, "v")
    assert Node.from_json(data) == head.at("v")
    assert Node.from_json(Node("embed").to_json()) == Node("embed")


def test_bad_nodes_are_refused():
    with pytest.raises(ValueError):
        Node("mlp", 0, port="q")
    with pytest.raises(ValueError):
        Node("head")
    with pytest.raises(ValueError):
        Node("neuron", 0)


def test_top_and_above_rank_by_magnitude():
    a, b, c = Node("embed"), Node("head", 0, 0), Node("logits")
    g = Graph([a, b, c], [Edge(a, b.at("q"), 0.1), Edge(b, c, -0.7), Edge(a, c, 0.3)])
    assert [e.score for e in g.top(2).edges] == [-0.7, 0.3]
    assert [e.score for e in g.above(0.2).edges] == [-0.7, 0.3]
    assert g.into(c) == [g.edges[1], g.edges[2]]
    assert g.to_json()["edges"][0] == {"from": "L1H1", "to": "logits", "score": -0.7}


def test_stack_nodes_and_layout():
    nodes = [Node("embed"), *stack_nodes(2, 3, mlp=False), Node("logits")]
    assert [n.label for n in nodes][1:4] == ["L1H1", "L1H2", "L1H3"]
    assert not any(n.kind == "mlp" for n in nodes)
    place = layout(nodes)
    assert place[Node("head", 0, 1)] == (0.0, 1.0)  # the middle of three heads
    assert place[Node("logits")][1] > place[Node("head", 1, 0)][1]
    assert parse_label("L2H3", nodes) == Node("head", 1, 2)
    with pytest.raises(ValueError, match="count from 1"):
        parse_label("L0H1", nodes)
