"""Progress measures of heads (explorer.analysis.heads): a hand-built induction circuit is
found, composition equals a direct computation."""

from __future__ import annotations

import pytest
import torch
from analysis_models import make_model
from induction_weights import L_MAX, V, induction_model

from explorer.analysis import AnalysisError
from explorer.analysis.graph import Node
from explorer.analysis.heads import (
    composition,
    composition_baseline,
    head_scores,
    repeated_sequences,
    usable_ids,
)


def _sequences():
    return repeated_sequences(list(range(V)), L_MAX, periods=(5, 7), per_period=16)


def test_repeated_sequences_repeat_with_their_period():
    x = repeated_sequences([3, 4, 5], 30, periods=(11, 13), per_period=2, seed=1)
    assert x.shape == (4, 30)
    assert set(x.unique().tolist()) <= {3, 4, 5}
    assert torch.equal(x[:2, 11:], x[:2, :-11])
    assert torch.equal(x[2:, 13:], x[2:, :-13])
    with pytest.raises(AnalysisError, match="too short"):
        repeated_sequences([1, 2], 20, periods=(11,))


def test_scores_find_the_hand_built_previous_token_and_induction_heads():
    scores = head_scores(induction_model(), _sequences())
    assert scores.best("previous_token")[:2] == (0, 0)
    assert scores.previous_token[0, 0] > 0.95
    assert scores.previous_token[1].max() < 0.5
    assert scores.best("prefix_matching")[:2] == (1, 0)
    assert scores.prefix_matching[1, 0] > 0.8
    assert scores.prefix_matching[0].max() < 0.5
    # the induction head copies what it attends to; the silent heads write nothing
    assert scores.copying[1, 0] > 0.9
    assert scores.icl < -0.5  # the repeats are predicted: late loss far below early loss
    comp = scores.composition
    k = comp.score(Node("head", 0, 0), Node("head", 1, 0), "k")
    assert k > 2 * comp.baseline["k"]
    top = comp.graph.ranked()[0]
    assert (top.source, top.target) == (Node("head", 0, 0), Node("head", 1, 0).at("k"))
    assert comp.score(Node("head", 0, 0), Node("head", 1, 0), "q") < 0.05


def test_an_untrained_model_has_no_induction_head():
    model = make_model("decoder")
    x = repeated_sequences(list(range(model.cfg.vocab_size)), model.cfg.l_max,
                           periods=(5, 7))
    scores = head_scores(model, x)
    assert scores.prefix_matching.max() < 0.5
    assert scores.previous_token.max() < 0.5


def _direct(model, l1, h1, l2, h2, kind):
    """The composition score from the weights, written out with numpy slices."""
    def folded(block, name, h, d):
        w = getattr(block.attn, name).weight.detach().double().numpy()[h * d:(h + 1) * d]
        return w * block.attn_norm.gamma.detach().double().numpy()[None, :]

    cfg = model.cfg
    b1, b2 = model.stack.blocks[l1], model.stack.blocks[l2]
    d = cfg.d_attn
    w_o1 = b1.attn.W_o.weight.detach().double().numpy()[:, h1 * d:(h1 + 1) * d]
    ov1 = w_o1 @ folded(b1, "W_v", h1, d)
    qk2 = folded(b2, "W_q", h2, d).T @ folded(b2, "W_k", h2, d)
    w_o2 = b2.attn.W_o.weight.detach().double().numpy()[:, h2 * d:(h2 + 1) * d]
    ov2 = w_o2 @ folded(b2, "W_v", h2, d)
    m = {"q": qk2.T, "k": qk2, "v": ov2}[kind]
    import numpy as np

    return np.linalg.norm(m @ ov1) / (np.linalg.norm(m) * np.linalg.norm(ov1))


def test_composition_equals_a_direct_computation():
    model = make_model("decoder")
    with torch.no_grad():
        for block in model.stack.blocks:
            block.attn_norm.gamma.uniform_(0.5, 1.5)
    comp = composition(model)
    cfg = model.cfg
    assert len(comp.graph.edges) == 3 * cfg.n_heads ** 2 * cfg.n_layers * (cfg.n_layers - 1) // 2
    for e in comp.graph.edges:
        want = _direct(model, e.source.layer, e.source.head, e.target.layer, e.target.head,
                       e.target.port)
        assert e.score == pytest.approx(want, rel=1e-4)


def test_the_baseline_is_what_random_weights_score():
    base = composition_baseline(32, 8, 8, samples=50)
    assert 0.0 < base["k"] < 1.0
    assert base == composition_baseline(32, 8, 8, samples=50)
    # narrower heads (lower rank) compose less by chance
    assert composition_baseline(64, 4, 4)["k"] < composition_baseline(64, 32, 32)["k"]


def test_usable_ids_leave_out_special_tokens_and_white_space():
    from explorer.tokenize import train_tokenizer

    tok = train_tokenizer("char", ["ab c\nab"])
    ids = usable_ids(tok.vocab_size, tok)
    assert sorted(tok.decode([i]) for i in ids) == ["a", "b", "c"]
    assert usable_ids(5) == [0, 1, 2, 3, 4]


def test_head_scores_refuse_an_encoder():
    model = make_model("encoder")
    with pytest.raises(AnalysisError, match="decoder"):
        head_scores(model, torch.zeros(1, 8, dtype=torch.long))


def test_ablating_the_previous_token_head_breaks_the_induction_head():
    from explorer.analysis.induction_circuit import periods, prove_circuit

    x = _sequences()
    assert periods(x) == [5] * 16 + [7] * 16
    proof = prove_circuit(induction_model(), x)
    assert (proof.previous, proof.induction) == (Node("head", 0, 0), Node("head", 1, 0))
    assert proof.prefix_before > 0.8 and proof.prefix_after < 0.4
    assert proof.repeat_before < proof.first_loss - 0.5  # the repeats are predicted …
    assert proof.repeat_after > proof.first_loss - 0.2  # … until the head is ablated
    assert "Ablating L1H1" in proof.sentence and proof.to_json()["induction_head"]["layer"] == 2
