"""record_edit: a trace continued after an edit equals a full recording (decoders)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer.core import ModelConfig, build_model
from explorer.trace import record, record_edit
from explorer.trace.splice import common_prefix, splice_supported

VOCAB, L_MAX = 13, 24

VARIANTS = [
    dict(arch="decoder"),
    dict(arch="decoder", norm_placement="post"),
    dict(arch="decoder", norm="rms"),
    dict(arch="decoder", norm="rms", norm_placement="post", positions="sinusoidal"),
    dict(arch="decoder", positions="sinusoidal", activation="relu", tie_unembedding=True),
    dict(arch="decoder", positions="none", bias=False, scale_embedding=True,
         embed_norm=True),
    dict(arch="encoder-decoder"),
    dict(arch="encoder-decoder", norm_placement="pre", norm="rms", positions="sinusoidal"),
    # the extensions that splice: grouped-query attention and SwiGLU (rotary does not)
    dict(arch="decoder", norm="rms", activation="swiglu", n_kv_heads=1, bias=False),
    dict(arch="encoder-decoder", n_dec_heads=1, d_dec_mlp=24),
]


def _model(variant: dict, seed: int = 0, dtype: torch.dtype = torch.float64):
    """In float64 by default, so that the only difference a float32 matrix product of
    another shape would make (rounding, ~1e-6 here) cannot hide a real one."""
    torch.manual_seed(seed)
    cfg = ModelConfig(vocab_size=VOCAB, l_max=L_MAX, d_e=16, n_heads=2, n_layers=2,
                      **variant)
    model = build_model(cfg).eval()
    with torch.no_grad():  # larger weights than the init: every position matters
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    return model.to(dtype)


MODELS = [_model(v) for v in VARIANTS]
CONTEXT = torch.tensor([[1, 5, 7, 2, 9]])


def _inputs(model, ids: list[int]) -> tuple[torch.Tensor, ...]:
    x = torch.tensor([ids])
    return (CONTEXT, x) if model.cfg.arch == "encoder-decoder" else (x,)


def assert_same_trace(spliced, full) -> None:
    assert list(spliced.keys()) == list(full.keys())
    assert spliced.steps == full.steps
    for name in full:
        a, b = spliced[name], full[name]
        assert a.shape == b.shape, name
        assert a.dtype == b.dtype, name
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-6, msg=name)


ids = st.lists(st.integers(0, VOCAB - 1), min_size=1, max_size=L_MAX)


@st.composite
def edits(draw):
    """(before, after): typing at the end, inserting in the middle, deleting, pasting."""
    before = draw(ids)
    kind = draw(st.sampled_from(["append", "insert", "delete", "paste", "retype_last"]))
    at = draw(st.integers(0, len(before)))
    piece = draw(st.lists(st.integers(0, VOCAB - 1), min_size=1, max_size=6))
    if kind == "append":
        after = before + piece
    elif kind == "insert":
        after = before[:at] + piece + before[at:]
    elif kind == "delete":
        end = draw(st.integers(at, len(before)))
        after = before[:at] + before[end:]
    elif kind == "paste":  # a selection replaced by pasted tokens
        end = draw(st.integers(at, len(before)))
        after = before[:at] + piece + before[end:]
    else:  # a subword tokenizer changes the last token while one types
        after = before[:-1] + piece[:1]
    after = after[:L_MAX] or [0]
    return before, after


@pytest.mark.parametrize("index", range(len(VARIANTS)),
                         ids=[",".join(f"{v}" for v in d.values()) for d in VARIANTS])
@pytest.mark.parametrize("lean", [False, True], ids=["full", "lean"])
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edit=edits())
def test_spliced_trace_equals_a_full_recording(index, lean, edit):
    model = MODELS[index]
    before, after = edit
    _, previous = record(model, *_inputs(model, before), lean=lean)
    logits, spliced = record_edit(model, *_inputs(model, after), previous=previous, lean=lean)
    full_logits, full = record(model, *_inputs(model, after), lean=lean)
    assert_same_trace(spliced, full)
    torch.testing.assert_close(logits, full_logits, atol=1e-6, rtol=1e-6)
    p = common_prefix(torch.tensor([before]), torch.tensor([after]))
    assert spliced.first_new == p  # only the positions from the first change were run
    # unjoined logits: None when continued, joined (equal) when read; the new positions
    # read without joining equal the full recording's
    lazy_logits, lazy = record_edit(model, *_inputs(model, after), previous=previous,
                                    lean=lean, joined=False)
    assert lazy_logits is None or lazy.first_new == 0
    stack = "decoder." if model.cfg.arch == "encoder-decoder" else ""
    for name in ("logits", f"{stack}blocks.1.mlp.out", f"{stack}blocks.0.attn.k"):
        torch.testing.assert_close(lazy.new_positions(name), full[name].narrow(
            2 if full[name].dim() == 4 else 1, p, full[name].shape[-2] - p), atol=1e-6,
            rtol=1e-6, msg=name)
    assert_same_trace(lazy, full)


@pytest.mark.parametrize("index", range(len(VARIANTS)))
def test_chains_of_edits_stay_equal(index):
    """Each trace continues the previous spliced one, as while typing."""
    model = MODELS[index]
    texts = [[3], [3, 4], [3, 4, 5], [3, 4, 6, 7, 8], [3, 9], [3, 9, 9, 9] * 6, [3, 9, 1]]
    _, trace = record(model, *_inputs(model, texts[0]), lean=True)
    for ids_ in texts[1:]:
        _, trace = record_edit(model, *_inputs(model, ids_[:L_MAX]), previous=trace,
                               lean=True)
        assert_same_trace(trace, record(model, *_inputs(model, ids_[:L_MAX]), lean=True)[1])
    assert trace.first_new == 2


@pytest.mark.parametrize("variant", [VARIANTS[0], VARIANTS[3], VARIANTS[6]])
def test_float32_models_at_their_initial_weights_agree_within_1e_6(variant):
    torch.manual_seed(0)
    cfg = ModelConfig(vocab_size=VOCAB, l_max=L_MAX, d_e=32, n_heads=4, n_layers=3, **variant)
    model = build_model(cfg).eval()
    before, after = [1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 9, 10, 11]
    _, previous = record(model, *_inputs(model, before), lean=True)
    _, spliced = record_edit(model, *_inputs(model, after), previous=previous, lean=True)
    assert spliced.first_new == 6
    assert_same_trace(spliced, record(model, *_inputs(model, after), lean=True)[1])


def test_a_long_run_of_keystrokes_without_reading_joins_its_pieces():
    """Unread steps are kept as pieces; past MAX_PARTS they are joined, still equal."""
    from explorer.trace.record import Pieces
    from explorer.trace.splice import MAX_PARTS

    model = MODELS[1]
    ids_ = [1]
    _, trace = record(model, torch.tensor([ids_]), lean=True)
    for i in range(MAX_PARTS + 3):
        ids_.append(i % VOCAB)
        _, trace = record_edit(model, torch.tensor([ids_]), previous=trace, lean=True)
    assert isinstance(trace._tensors["blocks.0.mlp.out"], Pieces)  # joined, then pieces again
    assert "blocks.0.mlp.out" in trace and "logits" in trace and "nothing" not in trace
    assert isinstance(trace._tensors["blocks.0.mlp.out"], Pieces)  # asking does not join
    assert len(trace._tensors["blocks.0.mlp.out"].parts) <= MAX_PARTS
    full = record(model, torch.tensor([ids_]), lean=True)[1]
    assert trace.nbytes() == full.nbytes()
    assert_same_trace(trace, full)


def test_typing_at_the_end_computes_only_the_new_token():
    model = MODELS[0]
    _, previous = record(model, torch.tensor([[1, 2, 3, 4]]))
    seen = []
    hook = model.stack.blocks[0].attn.W_q.register_forward_hook(
        lambda m, i, o: seen.append(i[0].shape[1]))
    try:
        record_edit(model, torch.tensor([[1, 2, 3, 4, 5]]), previous=previous)
    finally:
        hook.remove()
    assert seen == [1]


def test_encoder_traces_are_never_spliced():
    model = _model(dict(arch="encoder"))
    assert not splice_supported(model.cfg)
    _, previous = record(model, torch.tensor([[1, 2, 3, 4]]))
    _, trace = record_edit(model, torch.tensor([[1, 2, 3, 4, 5]]), previous=previous)
    assert trace.first_new == 0
    assert_same_trace(trace, record(model, torch.tensor([[1, 2, 3, 4, 5]]))[1])


def test_a_new_context_recomputes_the_encoder_decoder():
    model = MODELS[6]
    _, previous = record(model, CONTEXT, torch.tensor([[1, 2, 3]]))
    z = torch.tensor([[1, 5, 7, 2, 8]])
    _, trace = record_edit(model, z, torch.tensor([[1, 2, 3, 4]]), previous=previous)
    assert trace.first_new == 0
    assert_same_trace(trace, record(model, z, torch.tensor([[1, 2, 3, 4]]))[1])


def test_changed_weights_or_another_model_recompute():
    model = _model(VARIANTS[0])
    x0, x1 = torch.tensor([[1, 2, 3]]), torch.tensor([[1, 2, 3, 4]])
    _, previous = record(model, x0)
    with torch.no_grad():
        model.stack.blocks[0].mlp.W_mlp1.weight.mul_(1.5)  # trained in place
    _, trace = record_edit(model, x1, previous=previous)
    assert trace.first_new == 0
    assert_same_trace(trace, record(model, x1)[1])
    other = _model(VARIANTS[0], seed=1)
    assert record_edit(other, x1, previous=previous)[1].first_new == 0
    _, lean = record(model, x0, lean=True)
    assert record_edit(model, x1, previous=lean)[1].first_new == 0  # lean vs full
    _, some = record(model, x0, names=["logits"])
    assert record_edit(model, x1, previous=some)[1].first_new == 0  # a partial trace


def test_unknown_config_fields_record_in_full():
    cfg = MODELS[0].cfg
    assert splice_supported(cfg)
    assert not splice_supported(cfg.replace(arch="encoder"))


def test_rotary_models_record_in_full():
    from explorer.trace.splice import splice_supported

    assert not splice_supported(_model(dict(arch="decoder", positions="rotary")).cfg)
    assert splice_supported(_model(VARIANTS[-2]).cfg)  # the extensions listed above do


def test_a_cut_trace_shares_its_rows_and_is_continued_without_joining():
    """Deleting at the end keeps a view of the previous rows (no copy, never written);
    typing again reads the stored keys and values without joining them."""
    from explorer.trace.record import Pieces

    model = MODELS[0]
    _, previous = record(model, torch.tensor([[1, 2, 3, 4, 5]]), lean=True)
    kept = previous["blocks.0.mlp.out"].clone()
    _, cut = record_edit(model, torch.tensor([[1, 2, 3, 4]]), previous=previous, lean=True)
    out = cut["blocks.0.mlp.out"]
    assert out.untyped_storage().data_ptr() == \
        previous["blocks.0.mlp.out"].untyped_storage().data_ptr()
    assert out.is_contiguous() and out.shape[1] == 4
    assert isinstance(cut._tensors["blocks.0.attn.k"], Pieces)
    _, again = record_edit(model, torch.tensor([[1, 2, 3, 4, 6]]), previous=cut, lean=True)
    assert isinstance(cut._tensors["blocks.0.attn.k"], Pieces)  # read as a view, not joined
    assert torch.equal(previous["blocks.0.mlp.out"], kept)  # nothing wrote into it
    assert_same_trace(again, record(model, torch.tensor([[1, 2, 3, 4, 6]]), lean=True)[1])
