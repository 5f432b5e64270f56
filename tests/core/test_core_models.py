"""Algorithms 8-10: the paper's properties, variants, overfitting, bad input, round-trip."""

from __future__ import annotations

import pytest
import torch

from explorer.core import ModelConfig, build_model, load_model, save_model

N_V = 17


def _cfg(arch: str, **kw) -> ModelConfig:
    base = dict(arch=arch, vocab_size=N_V, l_max=12, d_e=16, n_heads=2, n_layers=2)
    base.update(kw)
    return ModelConfig(**base)


def _run(model, arch, x, z=None):
    return model(z, x) if arch == "encoder-decoder" else model(x)


@pytest.mark.parametrize("arch", ["decoder", "encoder", "encoder-decoder"])
def test_shapes_and_paper_defaults(arch):
    cfg = _cfg(arch)
    defaults = {"decoder": ("pre", "gelu"), "encoder": ("post", "gelu"),
                "encoder-decoder": ("post", "relu")}
    assert (cfg.norm_placement, cfg.activation) == defaults[arch]
    assert cfg.d_attn == cfg.d_mid == 8 and cfg.d_mlp == 64
    model = build_model(cfg).eval()
    x = torch.randint(0, N_V, (3, 7))
    z = torch.randint(0, N_V, (3, 5))
    assert _run(model, arch, x, z).shape == (3, 7, N_V)


def test_decoder_later_token_never_changes_earlier_logits():
    model = build_model(_cfg("decoder")).eval()
    x = torch.randint(0, N_V, (1, 8))
    y = x.clone()
    y[0, 5] = (y[0, 5] + 1) % N_V
    a, b = model(x), model(y)
    torch.testing.assert_close(a[:, :5], b[:, :5], rtol=0, atol=0)
    assert not torch.allclose(a[:, 5:], b[:, 5:])


def test_encoder_later_token_changes_earlier_outputs():
    model = build_model(_cfg("encoder")).eval()
    x = torch.randint(0, N_V, (1, 8))
    y = x.clone()
    y[0, 7] = (y[0, 7] + 1) % N_V
    assert not torch.allclose(model(x)[:, 0], model(y)[:, 0])


def test_encoder_decoder_dependencies():
    model = build_model(_cfg("encoder-decoder")).eval()
    z = torch.randint(0, N_V, (1, 6))
    x = torch.randint(0, N_V, (1, 6))
    base = model(z, x)
    for t_z in range(6):  # every context token matters to decoder position 0
        z2 = z.clone()
        z2[0, t_z] = (z2[0, t_z] + 1) % N_V
        assert not torch.allclose(model(z2, x)[:, 0], base[:, 0])
    x2 = x.clone()
    x2[0, 4] = (x2[0, 4] + 1) % N_V
    torch.testing.assert_close(model(z, x2)[:, :4], base[:, :4], rtol=0, atol=0)


@pytest.mark.parametrize(
    "variant",
    [
        dict(norm="rms"),
        dict(positions="sinusoidal"),
        dict(activation="relu"),
        dict(norm_placement="post"),
        dict(tie_unembedding=True),
        dict(bias=False),
        dict(d_attn=4, d_mid=6),
    ],
)
@pytest.mark.parametrize("arch", ["decoder", "encoder", "encoder-decoder"])
def test_variants_build_and_run(arch, variant):
    model = build_model(_cfg(arch, **variant)).eval()
    x = torch.randint(0, N_V, (2, 5))
    out = _run(model, arch, x, torch.randint(0, N_V, (2, 4)))
    assert out.shape == (2, 5, N_V) and torch.isfinite(out).all()
    if not variant.get("bias", True):
        assert all(m.bias is None for m in model.modules() if isinstance(m, torch.nn.Linear))


@pytest.mark.parametrize("arch", ["decoder", "encoder", "encoder-decoder"])
def test_overfits_a_tiny_batch(arch):
    torch.manual_seed(0)
    model = build_model(_cfg(arch, d_e=32, n_heads=4))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    x = torch.randint(0, N_V, (4, 10))
    z = torch.randint(0, N_V, (4, 10))
    losses = []
    for _ in range(200):
        logits = _run(model, arch, x, z)
        if arch == "encoder":  # predict the tokens themselves
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, N_V), x.reshape(-1))
        elif arch == "encoder-decoder":  # copy z into x
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, N_V), z.reshape(-1))
        else:  # next token
            loss = torch.nn.functional.cross_entropy(
                logits[:, :-1].reshape(-1, N_V), x[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.25 * losses[0], (losses[0], losses[-1])


def test_classifier_head():
    model = build_model(_cfg("encoder", n_classes=3)).eval()
    x = torch.randint(0, N_V, (4, 6))
    assert model.classify(x).shape == (4, 3)
    with pytest.raises(ValueError, match="class head"):
        build_model(_cfg("encoder")).classify(x)
    with pytest.raises(ValueError, match="encoder"):
        _cfg("decoder", n_classes=2)


@pytest.mark.parametrize("arch", ["decoder", "encoder"])
def test_bad_input_gives_clear_errors(arch):
    model = build_model(_cfg(arch)).eval()
    with pytest.raises(ValueError, match="outside the vocabulary"):
        model(torch.tensor([[1, N_V]]))
    with pytest.raises(ValueError, match="outside the vocabulary"):
        model(torch.tensor([[-1, 2]]))
    with pytest.raises(ValueError, match="l_max=12"):
        model(torch.zeros(1, 13, dtype=torch.long))
    with pytest.raises(ValueError, match="empty"):
        model(torch.zeros(1, 0, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\(B, l\)"):
        model(torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match="integer"):
        model(torch.zeros(1, 3))
    with pytest.raises(ValueError, match="x_mask"):
        model(torch.zeros(2, 3, dtype=torch.long), torch.ones(2, 4, dtype=torch.bool))


def test_encoder_decoder_batch_mismatch():
    model = build_model(_cfg("encoder-decoder")).eval()
    with pytest.raises(ValueError, match="batch sizes differ"):
        model(torch.zeros(2, 3, dtype=torch.long), torch.zeros(3, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="context"):
        model(torch.zeros(1, 0, dtype=torch.long), torch.zeros(1, 3, dtype=torch.long))


def test_config_validation():
    with pytest.raises(ValueError, match="arch"):
        ModelConfig(arch="gpt", vocab_size=5, l_max=4)
    with pytest.raises(ValueError, match="divisible"):
        ModelConfig(arch="decoder", vocab_size=5, l_max=4, d_e=10, n_heads=3)
    with pytest.raises(ValueError, match="norm"):
        ModelConfig(arch="decoder", vocab_size=5, l_max=4, norm="batch")
    with pytest.raises(ValueError, match="unknown"):
        ModelConfig.from_dict({"arch": "decoder", "vocab_size": 5, "l_max": 4, "colour": 1})


def test_padding_mask_matches_unpadded_run():
    model = build_model(_cfg("encoder")).eval()
    x = torch.randint(0, N_V, (1, 4))
    padded = torch.cat([x, torch.zeros(1, 3, dtype=torch.long)], dim=1)
    mask = torch.tensor([[True] * 4 + [False] * 3])
    torch.testing.assert_close(model(padded, mask)[:, :4], model(x), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("arch", ["decoder", "encoder", "encoder-decoder"])
def test_save_and_load_round_trip(arch, tmp_path):
    cfg = _cfg(arch, tie_unembedding=True, positions="sinusoidal")
    model = build_model(cfg).eval()
    save_model(model, tmp_path)
    again = load_model(tmp_path)
    assert again.cfg == cfg
    x = torch.randint(0, N_V, (2, 5))
    z = torch.randint(0, N_V, (2, 4))
    torch.testing.assert_close(_run(again, arch, x, z), _run(model, arch, x, z), rtol=0, atol=0)


def test_load_model_errors(tmp_path):
    with pytest.raises(ValueError, match="no model config"):
        load_model(tmp_path)
    model = build_model(_cfg("decoder"))
    save_model(model, tmp_path)
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(ValueError, match="cannot read weights"):
        load_model(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a valid JSON"):
        load_model(tmp_path)


def test_attention_mask_is_public_causal_with_a_prefix_and_masks_padded_keys() -> None:
    """``TransformerModel.attention_mask`` (used by patching as well as the models): the
    last l_x queries of l_z keys see the keys up to themselves; padded keys are hidden."""
    from explorer.core.models import TransformerModel

    cpu = torch.device("cpu")
    mask = TransformerModel.attention_mask(2, 4, True, None, cpu)
    assert mask.tolist() == [[[[True, True, True, False], [True, True, True, True]]]]
    keys = torch.tensor([[1, 1, 0]])
    both = TransformerModel.attention_mask(3, 3, False, keys, cpu)
    assert both.shape == (1, 1, 1, 3) and both[0, 0, 0].tolist() == [True, True, False]
    assert TransformerModel.attention_mask(3, 3, False, None, cpu) is None
