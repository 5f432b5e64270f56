"""The second text B ("compare with"): its own trace, following A's model, chunk and
context, and the A/B/A − B values the views show."""

from __future__ import annotations

import pytest
import torch

from explorer.state import Session, random_model, run_request
from explorer.state.compare import attention_comparison, output_comparison
from explorer.state.scene import Scene, apply_to_session, scene_from_session


@pytest.mark.parametrize("arch", ["decoder", "encoder", "encoder-decoder"])
def test_a_text_compared_with_itself_differs_nowhere(arch):
    session = Session(random_model(arch), "the king sings", "the red girl")
    session.compare.set_text("the king sings")
    assert session.record_now() and session.compare.record_now()
    assert session.compare.ready and session.compare.labels == session.x_labels
    out = output_comparison(session)
    assert out.kl is not None and float(out.kl.abs().max()) == 0.0
    assert float(out.diff.abs().max()) == 0.0 and out.note == ""
    prefix = "decoder.blocks.0.attn" if arch == "encoder-decoder" else "blocks.0.attn"
    pattern = attention_comparison(session, prefix, 1)
    assert float(pattern.diff.abs().max()) == 0.0
    assert pattern.a.shape == pattern.b.shape


def test_different_texts_align_on_the_common_prefix_and_say_so():
    session = Session(random_model("decoder"), "the king sings")
    session.compare.set_text("the king")
    session.record_now()
    session.compare.record_now()
    out = output_comparison(session)
    n_a, n_b = len(session.x_labels), len(session.compare.labels)
    assert n_b < n_a and out.a.shape[0] == n_b and out.kl.shape == (n_b,)
    assert f"A has {n_a}" in out.note and f"first {n_b}" in out.note
    # The decoder is causal: the shared prefix has the same distributions in A and B.
    assert float(out.kl[: n_b - 1].max()) < 1e-6
    la = torch.log_softmax(session.logits[0, n_b - 1].double(), -1)
    lb = torch.log_softmax(session.compare.logits[0, n_b - 1].double(), -1)
    expected = float((la.exp() * (la - lb)).sum())
    assert float(out.kl[n_b - 1]) == pytest.approx(expected, rel=1e-5, abs=1e-7)
    pattern = attention_comparison(session, "blocks.1.attn", 0)
    assert pattern.a.shape == (n_b, n_b) and pattern.lengths_a == (n_a, n_a)


def test_b_follows_the_model_and_chunk_and_is_recorded_once():
    session = Session(random_model("decoder"), "abcdefgh" * 20)
    b = session.compare
    assert b.request() is None and not b.active  # nothing to compare with
    b.set_text("hgfedcba" * 20)
    assert b.active and not b.ready
    assert b.record_now() and b.ready
    assert b.request() is None  # up to date: nothing to record again
    first_ids = b.trace["embed.ids"].clone()
    session.set_chunk(1)  # A shows its second chunk: B compares its second chunk
    assert not b.ready
    request = b.request()
    assert request is not None and request.x == b.encoded.chunks[1].ids
    assert b.apply(run_request(request)) and not torch.equal(b.trace["embed.ids"], first_ids)
    session.set_model(random_model("decoder", seed=3))
    assert b.trace is None and not b.ready  # another model: B's old trace is gone
    assert b.record_now() and b.ready


def test_stale_and_failed_b_results_are_not_shown():
    session = Session(random_model("decoder"), "abc")
    b = session.compare
    b.set_text("abd")
    old = b.request()
    b.set_text("abdd")
    assert not b.apply(run_request(old)) and b.trace is None
    events = []
    b.changed.connect(lambda: events.append(b.error))
    bad = b.request()
    from explorer.state.session import TraceResult

    assert not b.apply(TraceResult(bad.generation, None, None, "boom", 0.0))
    assert events == ["The model could not run on text B: boom"] and not b.ready
    with pytest.raises(ValueError, match="boom"):
        output_comparison(session)
    b.clear()
    with pytest.raises(ValueError, match="no second text"):
        output_comparison(session)


def test_the_compared_text_is_part_of_a_scene():
    session = Session(random_model("decoder"), "the king sings")
    session.compare.set_text("the queen sings")
    session.record_now()
    scene = scene_from_session(session)
    assert scene.compare == "the queen sings"
    again = Scene.from_json(scene.to_json())
    fresh = Session(random_model("decoder"), "x")
    apply_to_session(fresh, again)
    assert fresh.compare.text == "the queen sings" and fresh.compare.ready
    with pytest.raises(ValueError, match="compare must be a string"):
        Scene.from_json(scene.to_json().replace('"the queen sings"', "3"))
