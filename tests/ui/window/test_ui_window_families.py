"""A Llama-style model (rotary, SwiGLU, grouped-query) in the window: the Paper panel marks
the lines it computes differently, the views say which query heads share K and V."""

from __future__ import annotations

from explorer.core import ModelConfig, build_model
from explorer.state import LoadedModel, default_tokenizer

TIMEOUT = 30_000


def test_a_llama_style_model_is_marked_and_its_shared_heads_named(qtbot, open_window):
    window = open_window(arch="decoder", text="the king sings .")
    tok = default_tokenizer()
    cfg = ModelConfig(arch="decoder", vocab_size=int(tok.vocab_size), l_max=64, d_e=48,
                      n_heads=6, n_kv_heads=2, n_layers=2, norm="rms", positions="rotary",
                      activation="swiglu", bias=False)
    with qtbot.waitSignal(window.views_updated, timeout=TIMEOUT):
        window.show_model(LoadedModel(build_model(cfg), tok, "a Llama-style test model",
                                      "random"))
    paper = window.pseudocode.outer
    marked = [paper.lines.item(i).text() for i in range(paper.lines.count())
              if "◆" in paper.lines.item(i).text()]
    assert any("not in the paper" in t for t in marked) and any("variant" in t for t in marked)
    window.session.select_name("blocks.0.attn.k")
    assert "K/V head 1 ← query heads 1–3" in window.heatmap.kv_label.text()
    assert window.heatmap.kv_label.isVisibleTo(window.heatmap)
    attention = window.panel("Attention").view
    window.show_tab("Attention")
    assert "K/V head 2 ← query heads 4–6" in attention.kv_label.text()
    assert "2 key/value heads (grouped-query)" in window.toolbars.model_label.toolTip()
    window.close()
