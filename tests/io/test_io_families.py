"""Our Algorithms 8-10 on Hugging Face weights give the reference logits (GPT-2, BERT,
BART, Marian), for tiny random models made with ``transformers`` and saved to disk."""

from __future__ import annotations

import pytest
import torch

from explorer.core import sinusoidal_table
from explorer.io import load_pretrained, open_model

T = pytest.importorskip(
    "transformers", reason="transformers (the 'test' extra) is needed to make reference models"
)

V = 101
TOL = 1e-4


def _save(model, folder, **kwargs):
    model.eval().save_pretrained(folder, **kwargs)
    return folder


def _gpt2(tie: bool = True):
    torch.manual_seed(0)
    cfg = T.GPT2Config(vocab_size=V, n_positions=24, n_embd=32, n_layer=2, n_head=4,
                       bos_token_id=0, eos_token_id=0, tie_word_embeddings=tie)
    return T.GPT2LMHeadModel(cfg)


def _bert_config():
    return T.BertConfig(vocab_size=V, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=48, max_position_embeddings=24, type_vocab_size=2)


def _seq2seq(kind: str):
    torch.manual_seed(0)
    sizes = dict(vocab_size=V, d_model=32, encoder_layers=2, decoder_layers=3,
                 encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=40,
                 decoder_ffn_dim=40, max_position_embeddings=24, pad_token_id=1,
                 decoder_start_token_id=2, bos_token_id=0, eos_token_id=2,
                 forced_eos_token_id=2)
    if kind == "bart":
        model = T.BartForConditionalGeneration(T.BartConfig(**sizes))
    else:  # Marian as the Helsinki-NLP checkpoints set it: swish, √d_e scale
        model = T.MarianMTModel(T.MarianConfig(
            **sizes, activation_function="swish", scale_embedding=True))
    with torch.no_grad():  # make the logits bias visible in the comparison
        model.final_logits_bias.normal_()
    return model


def _ids(*shape):
    return torch.randint(3, V, shape, generator=torch.Generator().manual_seed(1))


def _maxdiff(a, b):
    return (a - b).abs().max().item()


@pytest.mark.parametrize("tie", [True, False])
def test_gpt2_logits_match(tmp_path, tie):
    ref = _gpt2(tie)
    model, _ = load_pretrained(_save(ref, tmp_path))
    assert model.cfg.algorithm == 10 and model.cfg.activation == "gelu_tanh"
    assert model.cfg.tie_unembedding is tie
    tied = model.unembed.W_u.weight is model.stack.embed.token.W_e.weight
    assert tied is tie  # one Parameter when tied, so training keeps them equal
    assert model.num_parameters() == sum(p.numel() for p in ref.parameters())
    assert all(p.requires_grad and p.device.type == "cpu" for p in model.parameters())
    x = _ids(2, 24)
    with torch.no_grad():
        assert _maxdiff(model(x), ref(x).logits) < TOL


def test_gpt2_sharded_safetensors(tmp_path):
    ref = _gpt2()
    _save(ref, tmp_path, max_shard_size="20KB")
    assert (tmp_path / "model.safetensors.index.json").is_file()
    model, _ = load_pretrained(tmp_path)
    x = _ids(1, 10)
    with torch.no_grad():
        assert _maxdiff(model(x), ref(x).logits) < TOL


def test_gpt2_pytorch_bin_read_with_weights_only(tmp_path):
    ref = _gpt2().eval()
    (tmp_path / "config.json").write_text(ref.config.to_json_string())
    torch.save(ref.state_dict(), tmp_path / "pytorch_model.bin")
    model, _, info = open_model(tmp_path)
    x = _ids(1, 10)
    with torch.no_grad():
        assert _maxdiff(model(x), ref(x).logits) < TOL
    assert info["family"] == "GPT-2" and info["algorithm_name"] == "DTransformer"


def test_bert_mlm_logits_match_with_padding_and_token_types(tmp_path):
    torch.manual_seed(0)
    ref = T.BertForMaskedLM(_bert_config())
    with torch.no_grad():
        ref.cls.predictions.bias.normal_()
    model, _, info = open_model(_save(ref, tmp_path))
    cfg = model.cfg
    assert (cfg.algorithm, cfg.norm_placement, cfg.final_head, cfg.unembed_bias) == (
        9, "post", True, True)
    assert cfg.norm_eps == 1e-12 and cfg.embed_norm and cfg.n_token_types == 2
    x = _ids(2, 12)
    types = torch.zeros_like(x)
    types[:, 6:] = 1
    mask = torch.ones_like(x, dtype=torch.bool)
    mask[1, 9:] = False
    with torch.no_grad():
        ours = model(x, x_mask=mask, token_types=types)
        theirs = ref(x, attention_mask=mask.long(), token_type_ids=types).logits
    assert _maxdiff(ours[0], theirs[0]) < TOL
    assert _maxdiff(ours[1, :9], theirs[1, :9]) < TOL  # padded positions are not compared
    assert not any("not meaningful" in n for n in info["notes"])


def test_bert_without_mlm_head_loads_for_inspection(tmp_path):
    torch.manual_seed(0)
    ref = T.BertModel(_bert_config())
    model, _, info = open_model(_save(ref, tmp_path))
    assert model.cfg.final_head is False
    assert "no MLM head: output distribution not meaningful" in info["notes"]
    assert any("pooler" in n for n in info["notes"])  # the unused pooler is named
    x = _ids(2, 12)
    with torch.no_grad():
        assert _maxdiff(model.encode(x), ref(x).last_hidden_state) < TOL
        assert model(x).shape == (2, 12, V)


@pytest.mark.parametrize("kind", ["bart", "marian"])
def test_encoder_decoder_logits_match(tmp_path, kind):
    ref = _seq2seq(kind)
    model, _, info = open_model(_save(ref, tmp_path))
    assert model.cfg.algorithm == 8 and info["family"] == {"bart": "BART", "marian": "Marian"}[kind]
    z, x = _ids(2, 17), _ids(2, 24)
    z_mask = torch.ones_like(z, dtype=torch.bool)
    z_mask[1, 12:] = False
    with torch.no_grad():
        ours = model(z, x, z_mask=z_mask)
        theirs = ref(input_ids=z, attention_mask=z_mask.long(), decoder_input_ids=x).logits
    assert _maxdiff(ours, theirs) < TOL


def test_bart_variants(tmp_path):
    model, _ = load_pretrained(_save(_seq2seq("bart"), tmp_path))
    cfg = model.cfg
    assert (cfg.positions, cfg.shared_positions, cfg.embed_norm, cfg.activation) == (
        "learned", False, True, "gelu")
    assert model.encoder.embed.position.W_p.weight.shape == (24, 32)  # offset rows sliced off


def test_marian_positions_equal_hugging_face_table(tmp_path):
    ref = _seq2seq("marian")
    model, _ = load_pretrained(_save(ref, tmp_path))
    cfg = model.cfg
    assert (cfg.positions, cfg.sinusoid_style, cfg.sinusoid_base) == (
        "sinusoidal", "halves", 10000.0)
    assert cfg.scale_embedding and cfg.activation == "silu"
    theirs = ref.model.encoder.embed_positions.weight.detach()
    ours = sinusoidal_table(cfg.l_max, cfg.d_e, cfg.sinusoid_base, cfg.sinusoid_style)
    assert _maxdiff(ours, theirs) < 1e-6
