"""The session continues its trace while one types (decoders), across chunk boundaries."""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer.state import Session, default_tokenizer, random_model
from explorer.trace import record

ALPHABET = "the wiscarbdon."


@pytest.fixture(scope="module")
def tok():
    return default_tokenizer()


def _session(tok, arch: str, l_max: int = 12) -> Session:
    loaded = random_model(arch, tokenizer=tok, d_e=32, n_heads=4, n_layers=2, l_max=l_max)
    with torch.no_grad():  # weights large enough for every position to matter
        for p in loaded.model.parameters():
            p.mul_(5.0)
    loaded.model.double()  # float64: rounding differences cannot hide a real one
    return Session(loaded, text="the cat", context="the dog")


def _full(session: Session):
    """A recording from scratch of what the session shows now."""
    x = torch.tensor([session.encoded.chunks[session.chunk].ids])
    if session.encoded_context is None:
        return record(session.model, x, lean=True)[1]
    z = torch.tensor([session.encoded_context.chunks[session.context_chunk].ids])
    return record(session.model, z, x, lean=True)[1]


def _assert_same(trace, full) -> None:
    assert list(trace.keys()) == list(full.keys())
    assert trace.steps == full.steps
    for name in full:
        torch.testing.assert_close(trace[name], full[name], atol=1e-6, rtol=1e-6, msg=name)


edit = st.tuples(st.sampled_from(["type", "insert", "delete", "paste", "chunk"]),
                 st.integers(0, 40), st.text(ALPHABET, min_size=1, max_size=8))


def _apply(session: Session, kind: str, at: int, piece: str) -> None:
    text = session.text
    at = min(at, len(text))
    if kind == "type":
        text += piece[0]
    elif kind == "insert":
        text = text[:at] + piece + text[at:]
    elif kind == "delete":
        text = text[:at] + text[at + len(piece):]
    elif kind == "paste":
        text = text[:at] + piece * 3 + text[at + 2:]
    else:  # show the last chunk of a text longer than l_max
        session.set_text(text + piece * 4)
        session.set_chunk(session.encoded.n_chunks - 1)
        return
    session.set_text(text)


@pytest.mark.parametrize("arch", ["decoder", "encoder-decoder"])
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(edits=st.lists(edit, min_size=1, max_size=6))
def test_the_session_trace_equals_a_full_recording_after_any_edits(tok, arch, edits):
    session = _session(tok, arch)
    assert session.record_now()
    for kind, at, piece in edits:
        _apply(session, kind, at, piece)
        assert session.record_now()
        _assert_same(session.trace, _full(session))
        torch.testing.assert_close(session.logits, _full(session)["logits"], atol=1e-6,
                                   rtol=1e-6)
        assert session.clean_logits is session.logits  # no interventions


def test_a_continued_trace_leaves_its_logits_unjoined_until_asked(tok):
    from explorer.state import run_request
    from explorer.trace.record import Pieces

    session = _session(tok, "decoder", l_max=64)
    assert session.record_now()
    session.set_text(session.text + "s")
    result = run_request(session.request())
    assert result.logits is None and result.trace.finite_logits is True
    assert isinstance(result.trace._tensors["logits"], Pieces)  # no copy of ℓ × N_V yet
    assert session.apply(result) and session.message == ""
    assert isinstance(session.trace._tensors["logits"], Pieces)
    torch.testing.assert_close(session.logits, _full(session)["logits"])


def test_a_non_finite_logit_at_a_new_position_is_reported(tok):
    """A continued trace checks only its new positions, and finds what is there."""
    from explorer.state import run_request

    session = _session(tok, "decoder", l_max=64)
    assert session.record_now() and session.trace.finite_logits
    session.set_text(session.text + "s")
    request = session.request()
    head = session.model.unembed.W_u
    original = head.forward
    head.forward = lambda h: original(h).masked_fill(torch.ones((), dtype=torch.bool),
                                                     float("nan"))
    try:
        result = run_request(request)
    finally:
        head.forward = original
    assert result.trace.first_new > 0  # continued: only the new position was computed
    assert result.trace.finite_logits is False
    assert session.apply(result)
    assert "not finite" in session.message


def test_typing_at_the_end_continues_the_trace(tok):
    session = _session(tok, "decoder", l_max=64)
    assert session.record_now()
    n = len(session.encoded.chunks[0].ids)
    session.set_text(session.text + "s")
    request = session.request()
    assert request.previous is session.trace
    assert session.record_now()
    assert session.trace.first_new == n  # only the new token was computed
    _assert_same(session.trace, _full(session))


def test_a_new_chunk_of_the_same_text_is_continued_after_its_start_token(tok):
    session = _session(tok, "decoder", l_max=8)
    session.set_text("the wise girl follows")
    session.set_chunk(1)
    assert session.record_now()
    session.set_chunk(2)
    assert session.record_now()
    assert session.trace.first_new == 1  # each chunk starts with bos
    _assert_same(session.trace, _full(session))


def test_an_encoder_session_records_everything(tok):
    session = _session(tok, "encoder", l_max=64)
    assert session.record_now()
    session.set_text(session.text + "s")
    assert session.record_now()
    assert session.trace.first_new == 0
    _assert_same(session.trace, _full(session))


def test_a_new_model_is_recorded_in_full(tok):
    session = _session(tok, "decoder", l_max=64)
    assert session.record_now()
    other = random_model("decoder", seed=3, tokenizer=tok, d_e=32, n_heads=4, n_layers=2,
                         l_max=64)
    other.model.double()
    session.set_model(other)
    session.set_text(session.text + "s")
    assert session.record_now()
    assert session.trace.first_new == 0
    _assert_same(session.trace, _full(session))
