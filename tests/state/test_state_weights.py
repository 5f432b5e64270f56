"""New weights of the same model (training) keep everything the session holds; another
model removes what no longer fits and says so."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from explorer.analysis import AblateHead, record_intervened
from explorer.core import build_model
from explorer.state import LoadedModel, Session, random_model
from explorer.state.swap import same_model, same_vocabulary
from tests.snapshots import trained

TEXT = "the king sings ."


@pytest.fixture
def session() -> Session:
    s = Session(random_model("decoder", 3), TEXT, "")
    assert s.record_now()
    return s


def test_new_weights_keep_the_interventions_selection_and_text_b(session):
    assert session.add_intervention(AblateHead(1, 2))
    session.compare.set_text("the queen sings .")
    assert session.record_now() and session.compare.record_now()
    session.select_name("blocks.1.attn.pattern")
    session.select_head(3)
    step_name = session.step.name
    events = []
    for name in ("model_changed", "weights_changed", "inputs_changed",
                 "interventions_changed"):
        getattr(session, name).connect(lambda name=name: events.append(name))
    for step in (10, 20, 30):  # several snapshots of a run
        loaded = trained(session.loaded, step)
        assert session.same_model(loaded)
        session.set_weights(loaded, step)
        assert session.model is loaded.model and session.weights_step == step
        assert session.record_now() and session.compare.record_now()
    assert events == ["weights_changed"] * 3  # never a new model, nothing cleared
    assert session.interventions == (AblateHead(1, 2),)
    assert session.trace.interventions == (AblateHead(1, 2),)  # applied in the new trace
    assert session.step.name == step_name and session.head == 3
    assert session.text == TEXT and session.compare.text == "the queen sings ."
    assert session.compare.ready
    # the trace is the new weights' intervened run, and differs from the clean one
    x = torch.tensor([session.request().x])
    expected, _ = record_intervened(session.model, x, interventions=[AblateHead(1, 2)])
    assert torch.equal(session.logits, expected)
    head_out = session.trace["blocks.1.attn.head_out"][0]
    assert float(head_out[2].abs().max()) == 0.0 and float(head_out[1].abs().max()) > 0
    assert not torch.equal(session.logits, session.clean_logits)
    with torch.no_grad():
        assert torch.allclose(session.clean_logits, session.model(x))
    # text B was recorded with the new weights too
    bx = torch.tensor([session.compare.encoded.chunks[0].ids])
    with torch.no_grad():
        assert torch.allclose(session.compare.logits, session.model(bx))


def test_a_trace_on_its_way_with_the_old_weights_is_not_taken(session):
    from explorer.state import run_request

    request = session.request()
    session.set_weights(trained(session.loaded, 1), 1)
    assert not session.apply(run_request(request))
    assert session.record_now()


def test_same_model_needs_the_same_config_and_vocabulary(session):
    loaded = session.loaded
    assert same_model(loaded, trained(loaded, 1))
    other_size = random_model("decoder", 3, d_e=loaded.cfg.d_e * 2)
    assert not same_model(loaded, other_size)
    assert not same_model(loaded, random_model("encoder", 3))
    from explorer.state.defaults import corpus_lines
    from explorer.tokenize import train_tokenizer

    again = train_tokenizer("char", corpus_lines())  # another object, the same ids
    assert again is not loaded.tokenizer and same_vocabulary(loaded.tokenizer, again)
    assert same_model(loaded, LoadedModel(build_model(replace(loaded.cfg)), again, "again",
                                          "random"))
    fewer = train_tokenizer("char", ["the king sings ."])
    assert not same_vocabulary(loaded.tokenizer, fewer)
    other_vocab = LoadedModel(build_model(replace(loaded.cfg, vocab_size=again.vocab_size)),
                              fewer, "another vocabulary", "random")
    assert not same_model(loaded, other_vocab)
    with pytest.raises(ValueError, match="another model"):
        session.set_weights(other_size)


def test_another_model_removes_the_interventions_and_says_so(session):
    assert session.add_intervention(AblateHead(1, 2))
    assert session.add_intervention(AblateHead(0, 0))
    session.compare.set_text("the queen sings .")
    session.set_model(random_model("encoder", 3))
    assert session.interventions == ()
    assert "New model: 2 interventions removed" in session.message
    assert session.record_now()
    assert "2 interventions removed" in session.message  # it stays past the new trace
    assert session.compare.text == "the queen sings ." and session.compare.record_now()
    session.set_text("a queen sings .")
    assert session.record_now() and "removed" not in session.message
    session.set_model(random_model("decoder", 3))  # nothing to remove: nothing said
    assert session.record_now() and "removed" not in session.message
