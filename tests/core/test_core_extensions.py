"""Extensions of the paper for Llama-style models: rotary positions (Su et al. 2021),
grouped-query attention and the SwiGLU MLP; and per-stack sizes of Algorithm 8."""

from __future__ import annotations

import pytest
import torch

from explorer.core import ModelConfig, build_model
from explorer.core.rotary import Rotary, rotary_angles, rotate
from explorer.trace import record


def _llama_cfg(**changes):
    sizes = dict(arch="decoder", vocab_size=37, l_max=20, d_e=48, n_heads=6, n_kv_heads=2,
                 n_layers=3, d_mlp=40, norm="rms", positions="rotary", activation="swiglu",
                 bias=False)
    sizes.update(changes)
    return ModelConfig(**sizes)


def test_rotary_scores_depend_only_on_the_offset():
    """The same q and k vectors at positions (t, s) give the score of (t + n, s + n)."""
    torch.manual_seed(0)
    d, length = 16, 12
    q_vec, k_vec = torch.randn(d), torch.randn(d)
    rot = Rotary(d, base=100.0)
    q = rot(q_vec.expand(1, 1, length, d))[0, 0]  # identical tokens at every position
    k = rot(k_vec.expand(1, 1, length, d))[0, 0]
    scores = q @ k.T  # scores[t, s]
    for offset in range(-4, 5):
        diagonal = torch.diagonal(scores, offset=offset)
        torch.testing.assert_close(diagonal, diagonal[0].expand_as(diagonal),
                                   atol=1e-5, rtol=1e-5)
    assert not torch.allclose(torch.diagonal(scores, 0)[0], torch.diagonal(scores, 3)[0])
    # a rotation keeps lengths: position changes the direction, never the size
    torch.testing.assert_close(q.norm(dim=-1), q_vec.norm().expand(length))


@pytest.mark.parametrize("scale", [1.0, 4.0])
def test_rotary_equals_transformers(scale):
    T = pytest.importorskip("transformers")
    from transformers.models.llama import modeling_llama as L

    rope = {"rope_type": "default", "rope_theta": 500.0} if scale == 1.0 else {
        "rope_type": "linear", "factor": scale, "rope_theta": 500.0}
    cfg = T.LlamaConfig(hidden_size=48, num_attention_heads=6, num_key_value_heads=2,
                        max_position_embeddings=64, rope_parameters=rope)
    torch.manual_seed(1)
    q, k = torch.randn(2, 6, 11, 8), torch.randn(2, 6, 11, 8)
    positions = torch.arange(11)[None].expand(2, -1)
    cos, sin = L.LlamaRotaryEmbedding(cfg)(q, positions)
    q_ref, k_ref = L.apply_rotary_pos_emb(q, k, cos, sin)
    ours = Rotary(8, base=500.0, scale=scale)
    torch.testing.assert_close(ours(q), q_ref, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(ours(k), k_ref, atol=1e-6, rtol=1e-5)


def test_rotary_angles_position_zero_is_identity():
    cos, sin = rotary_angles(3, 8)
    x = torch.randn(3, 8)
    torch.testing.assert_close(rotate(x, cos, sin)[0], x[0])


def test_grouped_query_heads_share_keys_and_values():
    torch.manual_seed(0)
    cfg = _llama_cfg()
    model = build_model(cfg)
    attn = model.stack.blocks[0].attn
    assert attn.W_k.weight.shape == (2 * 8, 48) and attn.W_q.weight.shape == (6 * 8, 48)
    assert cfg.kv_groups() == [[0, 1, 2], [3, 4, 5]]
    _, trace = record(model, torch.randint(0, 37, (1, 9)))
    k, v = trace["blocks.0.attn.k"][0], trace["blocks.0.attn.v"][0]  # (H, l, d)
    assert k.shape == (6, 9, 8)
    for group in cfg.kv_groups():
        for h in group[1:]:
            torch.testing.assert_close(k[h], k[group[0]])
            torch.testing.assert_close(v[h], v[group[0]])
    assert not torch.allclose(k[0], k[3])
    step = trace.step("blocks.0.attn.k_pre")  # (blocks.0.attn.k: rotated)
    assert step.extension and "grouped-query" in step.formula and "3 query heads" in step.formula


def test_grouped_query_equals_repeated_full_heads():
    """GQA is full multi-head attention whose K/V weights repeat per group."""
    torch.manual_seed(0)
    gqa = build_model(_llama_cfg())
    full = build_model(_llama_cfg(n_kv_heads=6))
    state = gqa.state_dict()
    for i in range(3):
        for part in ("W_k", "W_v"):
            w = state[f"stack.blocks.{i}.attn.{part}.weight"].view(2, 8, 48)
            state[f"stack.blocks.{i}.attn.{part}.weight"] = w.repeat_interleave(3, 0).reshape(
                48, 48)
    full.load_state_dict(state)
    x = torch.randint(0, 37, (2, 13))
    with torch.no_grad():
        torch.testing.assert_close(gqa(x), full(x), atol=1e-5, rtol=1e-5)


def test_swiglu_mlp_gates_with_up_projection():
    torch.manual_seed(0)
    model = build_model(_llama_cfg())
    mlp = model.stack.blocks[1].mlp
    x = torch.randn(2, 5, 48)
    expected = mlp.W_mlp2(torch.nn.functional.silu(mlp.W_mlp1(x)) * mlp.W_up(x))
    torch.testing.assert_close(mlp(x), expected)
    assert mlp.W_mlp1.bias is None  # Llama: no biases


def test_rotary_model_has_no_position_table_and_trains():
    torch.manual_seed(0)
    model = build_model(_llama_cfg(tie_unembedding=True, qkv_bias=True))
    assert not any("W_p" in n for n, _ in model.named_parameters())
    assert model.stack.blocks[0].attn.W_q.bias is not None  # Qwen2's q/k/v biases
    assert model.stack.blocks[0].attn.W_o.bias is None
    x = torch.randint(0, 37, (4, 16))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        logits = model(x[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 37), x[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_fused_attention_equals_recorded_with_extensions():
    torch.manual_seed(0)
    model = build_model(_llama_cfg()).eval()
    x = torch.randint(0, 37, (2, 10))
    with torch.no_grad():
        plain = model(x)
        model.set_fused_attention(True)
        fused = model(x)
    torch.testing.assert_close(plain, fused, atol=1e-5, rtol=1e-5)


def test_extension_steps_say_not_in_the_paper():
    model = build_model(_llama_cfg())
    _, trace = record(model, torch.randint(0, 37, (1, 6)))
    q = trace.step("blocks.0.attn.q")
    assert "not in the paper: rotary positions, Su et al. 2021" in q.formula
    assert "θ_i" in q.formula and q.not_in_paper.startswith("not in the paper")
    assert trace.step("blocks.0.attn.q_pre").extension is None  # the paper's Q ← W_q X̃
    assert "SwiGLU" in trace.step("blocks.0.mlp.out").formula
    assert "W_p" not in trace.step("embed.sum").formula.split("(")[0]
    assert "β" not in trace.step("blocks.0.attn_norm").formula  # RMSnorm has no β
    assert model.cfg.extensions == ["rotary positions, Su et al. 2021",
                                    "gated SiLU MLP (SwiGLU), Shazeer 2020",
                                    "grouped-query attention, Ainslie et al. 2023"]


def test_lean_trace_recomputes_scores_from_rotated_q_and_k():
    model = build_model(_llama_cfg())
    x = torch.randint(0, 37, (1, 7))
    _, full = record(model, x)
    _, lean = record(model, x, lean=True)
    torch.testing.assert_close(lean["blocks.2.attn.masked_scores"],
                               full["blocks.2.attn.masked_scores"])
    torch.testing.assert_close(lean["blocks.2.mlp.hidden"], full["blocks.2.mlp.hidden"])


def test_config_round_trips_and_refuses_bad_extensions():
    cfg = _llama_cfg()
    assert ModelConfig.from_json(cfg.to_json()) == cfg
    with pytest.raises(ValueError, match="multiple of n_kv_heads"):
        _llama_cfg(n_kv_heads=4)
    with pytest.raises(ValueError, match="even d_attn"):
        _llama_cfg(d_e=42, n_kv_heads=6)
    with pytest.raises(ValueError, match="n_dec_heads is for arch='encoder-decoder'"):
        _llama_cfg(n_dec_heads=3)
    plain = ModelConfig(arch="decoder", vocab_size=5, l_max=4, d_e=16, n_heads=4)
    assert plain.replace(n_heads=2).n_kv_heads == 2  # a following field keeps following
    assert cfg.replace(n_layers=1).n_kv_heads == 2  # a set field stays


def test_encoder_decoder_per_stack_sizes():
    cfg = ModelConfig(arch="encoder-decoder", vocab_size=29, l_max=16, d_e=24, n_heads=4,
                      n_dec_heads=2, d_enc_mlp=40, d_dec_mlp=56, n_enc_layers=3,
                      n_dec_layers=1)
    assert cfg.stack_sizes("encoder") == {"n_heads": 4, "n_kv_heads": 4, "d_attn": 6,
                                          "d_mid": 6, "d_mlp": 40}
    assert cfg.stack_sizes("decoder")["d_attn"] == 12
    model = build_model(cfg)
    assert (len(model.encoder.blocks), len(model.decoder.blocks)) == (3, 1)
    assert model.encoder.blocks[0].mlp.W_mlp1.weight.shape == (40, 24)
    dec = model.decoder.blocks[0]
    assert dec.mlp.W_mlp1.weight.shape == (56, 24)
    assert dec.attn.n_heads == 2 and dec.cross_attn.n_heads == 2
    z, x = torch.randint(0, 29, (2, 7)), torch.randint(0, 29, (2, 5))
    _, trace = record(model, z, x)
    assert trace["encoder.blocks.2.attn.pattern"].shape == (2, 4, 7, 7)
    assert trace["decoder.blocks.0.cross_attn.pattern"].shape == (2, 2, 5, 7)
    assert ModelConfig.from_json(cfg.to_json()) == cfg
    with pytest.raises(ValueError, match="not divisible by the decoder's 5 heads"):
        cfg.replace(n_dec_heads=5)
