"""A continued trace writes its keys and values into preallocated buffers (``Room``) and
still equals a full recording, for every architecture variant; a trace still alive keeps
its values when a later edit rewrites the positions it holds."""

from __future__ import annotations

import gc

import pytest
import torch

from explorer.core import ModelConfig, build_model
from explorer.trace import record, record_edit
from explorer.trace.splice import splice_supported

VOCAB, L_MAX = 13, 40

VARIANTS = {
    "decoder": dict(arch="decoder"),
    "encoder": dict(arch="encoder"),
    "encoder-decoder": dict(arch="encoder-decoder"),
    "encoder-decoder pre rms sinusoidal": dict(arch="encoder-decoder", norm_placement="pre",
                                               norm="rms", positions="sinusoidal"),
    "rotary": dict(arch="decoder", positions="rotary", norm="rms"),
    "GQA": dict(arch="decoder", n_heads=4, n_kv_heads=2),
    "SwiGLU": dict(arch="decoder", activation="swiglu", bias=False),
    "RMSnorm": dict(arch="decoder", norm="rms"),
    "post-norm": dict(arch="decoder", norm_placement="post"),
    "Llama-style": dict(arch="decoder", norm="rms", activation="swiglu", n_heads=4,
                        n_kv_heads=1, bias=False),
    "sinusoidal tied": dict(arch="decoder", positions="sinusoidal", tie_unembedding=True),
}
CONTEXT = torch.tensor([[1, 5, 7, 2, 9]])


def _model(variant: dict) -> torch.nn.Module:
    torch.manual_seed(0)
    cfg = ModelConfig(**{"vocab_size": VOCAB, "l_max": L_MAX, "d_e": 16, "n_heads": 2,
                         "n_layers": 2, **variant})
    model = build_model(cfg).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    return model.to(torch.float64)


def _inputs(model, ids: list[int]) -> tuple[torch.Tensor, ...]:
    x = torch.tensor([ids])
    return (CONTEXT, x) if model.cfg.arch == "encoder-decoder" else (x,)


def _same(spliced, full) -> None:
    assert list(spliced.keys()) == list(full.keys())
    for name in full:
        torch.testing.assert_close(spliced[name], full[name], atol=1e-9, rtol=1e-9, msg=name)


# typing at the end (one token, then several), a backspace, an edit in the middle, and
# typing at the end again
EDITS = [[3, 1, 4, 1, 5], [3, 1, 4, 1, 5, 9], [3, 1, 4, 1, 5, 9, 2], [3, 1, 4, 1, 5, 9, 2, 6],
         [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5], [3, 1, 4, 1, 5, 9, 2, 6, 5, 3],
         [3, 1, 4, 7, 5, 9, 2, 6, 5, 3], [3, 1, 4, 7, 5, 9, 2, 6, 5, 3, 8]]


@pytest.mark.parametrize("lean", [False, True], ids=["full", "lean"])
@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_step_of_a_typing_session_equals_a_full_recording(name, lean):
    model = _model(VARIANTS[name])
    kept, previous = [], None
    for ids in EDITS:
        logits, trace = record_edit(model, *_inputs(model, ids), previous=previous, lean=lean)
        full_logits, full = record(model, *_inputs(model, ids), lean=lean)
        _same(trace, full)
        torch.testing.assert_close(logits, full_logits, atol=1e-9, rtol=1e-9)
        kept.append((trace, full))
        previous = trace
    for trace, full in kept:  # every trace kept alive still holds its own values
        _same(trace, full)


@pytest.mark.parametrize("name", [n for n, v in VARIANTS.items()
                                  if splice_supported(_model(v).cfg)])
def test_typing_at_the_end_writes_into_the_same_buffers(name):
    model = _model(VARIANTS[name])
    _, trace = record(model, *_inputs(model, EDITS[0]), lean=True)
    assert trace.room is None  # a full recording owns its keys and values
    _, trace = record_edit(model, *_inputs(model, EDITS[1]), previous=trace, lean=True)
    room = trace.room
    assert room is not None and room.capacity >= len(EDITS[1])
    for ids in EDITS[2:5]:  # the earlier traces are dropped, as the window drops them
        _, trace = record_edit(model, *_inputs(model, ids), previous=trace, lean=True)
        gc.collect()
        assert trace.room is room
        stack = "decoder." if model.cfg.arch == "encoder-decoder" else ""
        k = trace[f"{stack}blocks.0.attn.k"]
        assert k.untyped_storage().data_ptr() == room.keys[0].untyped_storage().data_ptr()


def test_a_live_trace_makes_an_edit_before_its_end_use_new_buffers():
    model = _model(VARIANTS["decoder"])
    _, first = record(model, torch.tensor([EDITS[0]]), lean=True)
    _, longer = record_edit(model, torch.tensor([EDITS[3]]), previous=first, lean=True)
    before = longer["blocks.1.attn.k"].clone()
    # an edit at position 3 while `longer` (8 positions) is alive: its room is not written
    _, edited = record_edit(model, torch.tensor([EDITS[6][:8]]), previous=longer, lean=True)
    assert edited.room is not longer.room
    assert torch.equal(longer["blocks.1.attn.k"], before)
    del longer
    gc.collect()
    # nothing holds the room's positions past 8 any more: appending writes in place
    _, appended = record_edit(model, torch.tensor([EDITS[6][:8] + [1]]), previous=edited,
                              lean=True)
    assert appended.room is edited.room
