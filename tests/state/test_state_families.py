"""The session with models beyond the paper's defaults: per-stack head counts of
Algorithm 8 and grouped-query attention."""

from __future__ import annotations

from explorer.state import Session, random_model


def test_head_count_follows_the_selected_stack():
    loaded = random_model("encoder-decoder", n_heads=4)
    cfg = loaded.model.cfg.replace(n_dec_heads=2)
    from explorer.core import build_model

    loaded = type(loaded)(build_model(cfg).eval(), loaded.tokenizer, "per-stack", "random")
    session = Session(loaded, "the cat", "the red girl")
    assert session.record_now()
    assert session.select_name("encoder.blocks.0.attn.pattern")
    assert session.n_heads == 4
    session.select_head(3)
    assert session.select_name("decoder.blocks.0.cross_attn.pattern")
    assert session.n_heads == 2 and session.head == 1  # clamped to the decoder's heads
    assert session.kv_groups == [[0], [1]]


def test_kv_groups_of_a_grouped_query_model():
    session = Session(random_model("decoder", n_heads=4, n_kv_heads=2, positions="rotary",
                                   activation="swiglu", norm="rms"), "the cat")
    assert session.record_now()
    assert session.select_name("blocks.1.attn.pattern")
    assert session.kv_groups == [[0, 1], [2, 3]]
    assert session.trace["blocks.1.attn.k"].shape[1] == 4  # one K per query head
