"""The Qt-free session: inputs, chunks, recording, selection and navigation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.core import save_model
from explorer.state import (
    Session,
    default_model,
    default_tokenizer,
    encode_text,
    random_model,
    run_request,
)
from explorer.state import defaults as defaults_module
from explorer.trace import ALGORITHMS


@pytest.fixture(scope="module")
def tok():
    return default_tokenizer()


def test_decoder_gets_bos_encoder_gets_bos_and_eos(tok):
    dec = encode_text(tok, "the cat", "decoder", 64)
    enc = encode_text(tok, "the cat", "encoder", 64)
    bos, eos = tok.special_ids["bos"], tok.special_ids["eos"]
    assert dec.chunks[0].ids[0] == bos and dec.chunks[0].ids[-1] != eos
    assert enc.chunks[0].ids[0] == bos and enc.chunks[0].ids[-1] == eos
    assert len(dec.chunks[0].ids) == 8 and len(enc.chunks[0].ids) == 9
    assert dec.chunks[0].labels[:2] == ("⟨bos⟩", "t") and "␣" in dec.chunks[0].labels


def test_trained_models_are_fed_as_they_were_trained(tok):
    from dataclasses import replace

    from explorer.state import input_roles

    base = random_model("decoder", tokenizer=tok).cfg
    assert input_roles(base) == ("decoder", None)
    assert input_roles(replace(base, arch="encoder")) == ("encoder", None)
    assert input_roles(replace(base, arch="encoder-decoder")) == ("decoder", "encoder")
    for task, roles in {"next-token": ("raw", None), "masked": ("raw", None),
                        "seq2seq": ("decoder", "raw"), "classify": ("cls", None)}.items():
        assert input_roles(replace(base, extra={"task": task})) == roles
    raw = encode_text(tok, "the cat", "raw", 64).chunks[0]
    assert raw.ids == tuple(tok.encode("the cat").ids) and raw.labels[0] == "t"
    cls = encode_text(tok, "the cat", "cls", 64).chunks[0]
    assert cls.ids[0] == tok.special_ids["cls"] and cls.ids[1:] == raw.ids
    with pytest.raises(ValueError, match="role"):
        encode_text(tok, "the cat", "sideways", 64)


def test_bundled_models_read_their_training_format():
    from explorer.state import find_bundled

    if find_bundled("decoder") is None:
        pytest.skip("no bundled decoder in resources/models")
    s = Session(default_model("decoder"), "the cat")
    assert s.encoded.chunks[0].labels[0] == "t"  # raw stream, no ⟨bos⟩, as trained
    s = Session(default_model("encoder-decoder"), "the cat", "the red girl")
    assert s.encoded_context.chunks[0].labels[0] != "⟨bos⟩"  # the source is read raw
    assert s.encoded.chunks[0].labels[0] == "⟨bos⟩"  # the target starts at bos


def test_long_text_is_chunked_and_says_so(tok):
    enc = encode_text(tok, "ab" * 100, "decoder", 16)
    assert enc.n_chunks == 14 and enc.per_chunk == 15
    assert all(len(c.ids) <= 16 for c in enc.chunks)
    assert sum(len(c.ids) - 1 for c in enc.chunks) == 200
    assert "chunk 2 of 14" in enc.describe(1)


def test_empty_text_feeds_only_the_start_token(tok):
    enc = encode_text(tok, "", "decoder", 64)
    assert enc.n_chunks == 1 and enc.chunks[0].labels == ("⟨bos⟩",)


def test_random_default_model_is_seeded_and_says_so():
    a, b = random_model("decoder", seed=0), random_model("decoder", seed=0)
    assert a.label == "untrained, random weights (seed 0)" and not a.trained
    for (name, p), q in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.equal(p, q), name
    cfg = a.cfg
    assert (cfg.arch, cfg.d_e, cfg.n_heads, cfg.n_layers, cfg.l_max) == ("decoder", 64, 4, 2, 64)
    assert not torch.equal(random_model("decoder", seed=1).model.state_dict()[name], p)


def test_bundled_trained_model_is_preferred(tmp_path, monkeypatch, tok):
    folder = tmp_path / "models" / "decoder"
    loaded = random_model("decoder", seed=3)
    save_model(loaded.model, folder)
    tok.save(str(folder / "tokenizer.json"))
    monkeypatch.setattr(defaults_module, "bundled_models_dir", lambda: tmp_path / "models")
    shown = default_model("decoder")
    assert shown.trained and shown.label.startswith("trained: ")
    assert "bundled" in shown.label
    assert default_model("encoder").label.startswith("untrained")


def broken_bundled_decoder(models, tok):
    """A bundled decoder folder whose weights file is not safetensors."""
    folder = models / "default-decoder"
    save_model(random_model("decoder", seed=3).model, folder)
    tok.save(str(folder / "tokenizer.json"))
    (folder / "model.safetensors").write_bytes(b"not safetensors")
    return folder


def test_a_bundled_model_that_fails_to_load_says_so(tmp_path, monkeypatch, tok):
    """Random weights shown instead of a broken bundled model are never silent."""
    broken_bundled_decoder(tmp_path / "models", tok)
    monkeypatch.setattr(defaults_module, "bundled_models_dir", lambda: tmp_path / "models")
    shown = default_model("decoder")
    assert not shown.trained and "failed to load" in shown.label
    (problem,) = shown.problems
    assert "bundled decoder model could not be loaded" in problem and "default-decoder" in problem
    assert random_model("decoder").problems == ()


@pytest.mark.parametrize("arch", ["decoder", "encoder", "encoder-decoder"])
def test_record_and_step_through(arch):
    session = Session(random_model(arch), "the king sings .", "the red girl")
    seen = []
    session.trace_changed.connect(lambda: seen.append("trace"))
    assert session.record_now() and seen == ["trace"]
    assert session.step.name.endswith("embed.ids")
    names = [s.name for s in session.steps]
    assert names[-1] in ("probs", "class_probs")
    for i in range(1, len(names)):
        session.step_by(1)
        assert session.step_index == i
    session.step_by(1)
    assert session.step_index == len(names) - 1
    session.first_step()
    assert session.step_index == 0
    # PageDown visits every group start once, in order
    starts = [0]
    while True:
        session.next_group()
        if session.step_index == starts[-1]:
            break
        starts.append(session.step_index)
    assert len(starts) >= 4 and starts == sorted(starts)
    assert session.step.name in ("probs", "logits", "class_logits")  or \
        session.step.block in ("output", "final")


def test_layers_and_pseudocode_lines_jump_to_their_steps():
    session = Session(random_model("encoder-decoder"), "abc", "de")
    session.record_now()
    assert session.jump_to_layer(2)
    assert session.step.name == "encoder.blocks.1.attn.q"
    assert session.jump_to_layer(2)  # again: the decoder's layer 2
    assert session.step.name.startswith("decoder.blocks.1.")
    assert not session.jump_to_layer(7) and "no layer 7" in session.message
    assert session.jump_to_line(8, 16)  # X ← X + MHAttention(X, Z | W_l^e/d, Mask ≡ 1)
    assert session.step.name == "decoder.blocks.1.cross_attn.q"
    assert session.jump_to_line(4, 5)
    assert session.step.name == "decoder.blocks.1.cross_attn.masked_scores"
    step = session.step
    assert ALGORITHMS[step.algorithm].lines[step.line - 1].startswith("∀t_z")


def test_selection_and_head_survive_a_text_change():
    session = Session(random_model("decoder"), "the cat")
    session.record_now()
    session.select_name("blocks.1.attn.pattern")
    session.select_head(3)
    session.set_text("the dog sings")
    assert session.record_now()
    assert session.step.name == "blocks.1.attn.pattern" and session.head == 3
    assert session.trace.paper("blocks.1.attn.pattern").shape[-1] == len("the dog sings") + 1


def test_stale_results_are_ignored_and_model_switch_keeps_text():
    session = Session(random_model("decoder"), "abc")
    old = session.request()
    session.set_text("abcd")
    assert not session.apply(run_request(old))
    assert session.trace is None
    events = []
    session.model_changed.connect(lambda: events.append("model"))
    session.select_name("x")
    session.set_model(random_model("encoder"))
    assert events == ["model"] and session.text == "abcd" and session.arch == "encoder"
    assert session.record_now()
    assert session.x_labels[-1] == "⟨eos⟩"


def test_chunk_selection_feeds_that_chunk():
    session = Session(random_model("decoder"), "abcdefgh" * 20)
    assert session.encoded.n_chunks == 3
    session.set_chunk(2)
    assert session.record_now()
    assert session.x_labels[1:4] == ("g", "h", "a")  # chunk 3 starts at character 126


def test_switching_architecture_keeps_typed_text_and_swaps_defaults():
    from explorer.state import DEFAULT_TEXT, default_text

    s = Session(random_model("decoder"), DEFAULT_TEXT)
    s.set_model(random_model("encoder-decoder"))
    assert s.text == default_text("encoder-decoder") != DEFAULT_TEXT  # the target language
    s.set_model(random_model("decoder"))
    assert s.text == DEFAULT_TEXT
    s.set_text("my own words")
    s.set_model(random_model("encoder-decoder"))
    assert s.text == "my own words"


def test_damaged_weights_say_where_values_stop_being_finite_and_views_count_them():
    from explorer.state.session import MAX_TEXT
    from explorer.state.step_data import heatmap_data

    loaded = random_model("decoder", 0)
    params = dict(loaded.model.named_parameters())
    with torch.no_grad():
        next(p for n, p in params.items() if n.startswith("stack.blocks.0.mlp")).fill_(
            float("nan"))
    session = Session(loaded, "the cat sat")
    assert session.record_now()
    assert "not finite" in session.message and "blocks.0" in session.message
    session.select_name("logits")
    data = heatmap_data(session)
    assert data.nonfinite == data.raw.size  # every logit is NaN, and says so
    session.select_name("blocks.0.attn.pattern")
    assert heatmap_data(session).nonfinite == 0  # masked −∞ is not damage
    clean = Session(random_model("decoder", 0), "the cat sat " * (MAX_TEXT // 10))
    assert clean.record_now() and "at most" in clean.message  # kept after the trace
    assert "not finite" not in clean.message


def test_whitespace_is_not_called_empty_when_its_tokens_are_fed():
    """40 spaces are 40 character tokens: fed, and not called 'empty'."""
    session = Session(random_model("decoder"), " " * 40)
    assert session.encoded.n_tokens == 40
    assert "empty" not in session.input_note().lower()
    session.set_text("")
    assert "The text is empty" in session.input_note()


def test_thumbnails_of_a_long_text_pool_positions_keeping_sharp_weights():
    """The head grid's thumbnails: at most ``most`` cells a side, each the largest weight
    of its block, masked only where its whole block is; equal to head_weights when short."""
    from explorer.trace import record

    session = Session(random_model("decoder"), "abcdefghij" * 9)
    assert session.record_now()  # lean: one mask by the paper's rule for every head
    x = torch.tensor([session.encoded.chunks[0].ids])
    _, stored = record(session.model, x)  # the masked scores stored: a mask per head
    for trace in (session.trace, stored):
        _check_thumbnails(trace)


def _check_thumbnails(trace):
    from explorer.state.attention_data import head_weights, thumbnail_weights

    weights, masked = head_weights(trace, "blocks.0.attn")
    h, l, _ = weights.shape
    most = 16
    cells, cell_masked = thumbnail_weights(trace, "blocks.0.attn", most=most)
    f = -(-l // most)
    assert cells.shape == cell_masked.shape == (h, -(-l // f), -(-l // f))
    assert max(cells.shape[1:]) <= most
    shown = np.where(masked, -1.0, weights)
    for z in range(cells.shape[1]):
        for x in range(cells.shape[2]):
            block = shown[:, z * f:(z + 1) * f, x * f:(x + 1) * f]
            assert np.array_equal(cell_masked[:, z, x], (block < 0).all(axis=(1, 2)))
            expect = np.where((block < 0).all(axis=(1, 2)), 0.0, block.max(axis=(1, 2)))
            assert np.allclose(cells[:, z, x], expect, atol=0)
    assert cell_masked[:, -1, 0].all() and not cell_masked[:, 0, -1].any()
    full, full_masked = thumbnail_weights(trace, "blocks.0.attn", most=l)
    assert np.array_equal(full, weights) and np.array_equal(full_masked, masked)
