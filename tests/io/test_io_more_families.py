"""RoBERTa, DistilBERT, OPT, Llama and Qwen2 (and BART/Marian with per-stack sizes) on
Algorithms 8-10: random ``transformers`` models of odd small sizes, saved to a folder
and opened by us, give the reference logits; the folder's tokenizer gives the
reference ids; config fields we do not map are refused by name."""

from __future__ import annotations

import json

import pytest
import torch

from explorer.io import CheckpointError, encode_text, open_model

T = pytest.importorskip(
    "transformers", reason="transformers (the 'reference' extra) makes the reference models"
)
from tokenizers import (  # noqa: E402
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)

TOL = 1e-4
TEXT = "Hello wörld!  The naïve café costs 3.14 €; 你好, ok?\tTabs, CAPS and émojis 😀."
CORPUS = ["the cat sat on the mat", "hello world, naïve café", "transformers attend to tokens",
          "3.14 is pi; 2.72 is e", "你好 world"] * 20
BPE_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # RoBERTa's ids 0-4


def _byte_bpe(specials=BPE_SPECIALS) -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS, trainer)
    return tok


def _wordpiece() -> Tokenizer:
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(
        vocab_size=150, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    tok.train_from_iterator(CORPUS, trainer)
    return tok


def _perturbed(model):
    """Move every weight off its initial value (norm γ = 1, biases = 0 would hide a
    wrong mapping); tied tensors stay tied."""
    torch.manual_seed(3)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:  # (Marian's fixed sinusoid table is not saved)
                p.add_(0.05 * torch.randn_like(p))
    return model.eval()


def _save(model, folder):
    model.save_pretrained(folder)
    return folder


def _ids(vocab: int, B: int, length: int, low: int = 5):
    return torch.randint(low, vocab, (B, length), generator=torch.Generator().manual_seed(1))


def _padded(x, pad_id: int, keep: int):
    """Row 1 keeps only its first ``keep`` tokens, the rest is padding."""
    x = x.clone()
    mask = torch.ones_like(x, dtype=torch.bool)
    mask[1, keep:] = False
    x[1, keep:] = pad_id
    return x, mask


def _diff(ours, theirs, mask):
    """Max |Δlogits| over the real (unpadded) positions."""
    return (ours - theirs).abs().amax(-1)[mask].max().item()


# -- the models ---------------------------------------------------------------------------

def _roberta(vocab, tie):
    cfg = T.RobertaConfig(vocab_size=vocab, hidden_size=48, num_hidden_layers=3,
                          num_attention_heads=6, intermediate_size=40,
                          max_position_embeddings=30, type_vocab_size=1, pad_token_id=1,
                          tie_word_embeddings=tie)
    torch.manual_seed(0)
    return _perturbed(T.RobertaForMaskedLM(cfg))


def _distilbert(vocab, tie):
    cfg = T.DistilBertConfig(vocab_size=vocab, dim=48, n_layers=3, n_heads=6, hidden_dim=40,
                             max_position_embeddings=28, tie_word_embeddings=tie)
    torch.manual_seed(0)
    return _perturbed(T.DistilBertForMaskedLM(cfg))


def _opt(vocab, tie, pre=True):
    cfg = T.OPTConfig(vocab_size=vocab, hidden_size=48, num_hidden_layers=3,
                      num_attention_heads=6, ffn_dim=40, max_position_embeddings=28,
                      do_layer_norm_before=pre, word_embed_proj_dim=48, pad_token_id=1,
                      tie_word_embeddings=tie)
    torch.manual_seed(0)
    return _perturbed(T.OPTForCausalLM(cfg))


def _llama(vocab, tie, kind="llama", rope=None):
    sizes = dict(vocab_size=vocab, hidden_size=48, num_hidden_layers=3, num_attention_heads=6,
                 num_key_value_heads=2, intermediate_size=40, max_position_embeddings=28,
                 rms_norm_eps=1e-5, tie_word_embeddings=tie,
                 rope_parameters=rope or {"rope_type": "default", "rope_theta": 500.0})
    torch.manual_seed(0)
    if kind == "qwen2":
        return _perturbed(T.Qwen2ForCausalLM(T.Qwen2Config(**sizes)))
    return _perturbed(T.LlamaForCausalLM(T.LlamaConfig(**sizes)))


# -- logits -------------------------------------------------------------------------------

@pytest.mark.parametrize("tie", [True, False])
def test_roberta_logits_match_with_padding(tmp_path, tie):
    ref = _roberta(120, tie)
    model, _, info = open_model(_save(ref, tmp_path))
    assert (info["family"], model.cfg.algorithm, model.cfg.l_max) == ("RoBERTa", 9, 28)
    assert (model.unembed.W_u.weight is model.stack.embed.token.W_e.weight) is tie
    x, mask = _padded(_ids(120, 2, 28), pad_id=1, keep=11)
    with torch.no_grad():
        ours = model(x, x_mask=mask)
        theirs = ref(input_ids=x, attention_mask=mask.long()).logits
    assert _diff(ours, theirs, mask) < TOL


@pytest.mark.parametrize("tie", [True, False])
def test_distilbert_logits_match_with_padding(tmp_path, tie):
    ref = _distilbert(120, tie)
    model, _, info = open_model(_save(ref, tmp_path))
    assert (info["family"], model.cfg.algorithm, model.cfg.n_token_types) == ("DistilBERT", 9, 0)
    x, mask = _padded(_ids(120, 2, 28), pad_id=0, keep=9)
    with torch.no_grad():
        ours = model(x, x_mask=mask)
        theirs = ref(input_ids=x, attention_mask=mask.long()).logits
    assert _diff(ours, theirs, mask) < TOL


@pytest.mark.parametrize("tie,pre", [(True, True), (False, True), (True, False)])
def test_opt_logits_match_with_padding(tmp_path, tie, pre):
    ref = _opt(120, tie, pre)
    model, _, info = open_model(_save(ref, tmp_path))
    cfg = model.cfg
    assert (info["family"], cfg.algorithm, cfg.activation) == ("OPT", 10, "relu")
    assert cfg.norm_placement == ("pre" if pre else "post")
    assert (model.stack.final_norm is None) is (not pre)
    x, mask = _padded(_ids(120, 2, 28), pad_id=1, keep=13)
    with torch.no_grad():
        ours = model(x, x_mask=mask)
        theirs = ref(input_ids=x, attention_mask=mask.long()).logits
    assert _diff(ours, theirs, mask) < TOL


@pytest.mark.parametrize("kind,tie", [("llama", False), ("llama", True), ("qwen2", False),
                                      ("qwen2", True)])
def test_llama_style_logits_match_with_padding(tmp_path, kind, tie):
    ref = _llama(120, tie, kind)
    model, _, info = open_model(_save(ref, tmp_path))
    cfg = model.cfg
    assert info["family"] == {"llama": "Llama", "qwen2": "Qwen2"}[kind]
    assert (cfg.algorithm, cfg.positions, cfg.activation, cfg.norm) == (
        10, "rotary", "swiglu", "rms")
    assert (cfg.n_heads, cfg.n_kv_heads, info["n_kv_heads"]) == (6, 2, 2)
    assert (cfg.qkv_bias, cfg.out_bias) == ((True, False) if kind == "qwen2" else (False, False))
    assert cfg.tie_unembedding is tie
    assert "rotary positions, Su et al. 2021" in info["extensions"]
    assert "Llama" in info["label"] or "Qwen2" in info["label"]
    assert "extensions" in info["label"]
    assert model.num_parameters() == sum(p.numel() for p in ref.parameters())
    x, mask = _padded(_ids(120, 2, 28), pad_id=0, keep=10)
    with torch.no_grad():
        ours = model(x, x_mask=mask)
        theirs = ref(input_ids=x, attention_mask=mask.long()).logits
    assert _diff(ours, theirs, mask) < TOL


def test_llama_linear_rope_scaling_matches(tmp_path):
    ref = _llama(120, False, rope={"rope_type": "linear", "factor": 3.0, "rope_theta": 700.0})
    model, _, info = open_model(_save(ref, tmp_path))
    assert (model.cfg.rope_base, model.cfg.rope_scale) == (700.0, 3.0)
    x = _ids(120, 1, 20)
    with torch.no_grad():
        assert (model(x) - ref(input_ids=x).logits).abs().max().item() < TOL


@pytest.mark.parametrize("kind", ["bart", "marian"])
def test_encoder_decoder_with_per_stack_sizes_matches(tmp_path, kind):
    sizes = dict(vocab_size=90, d_model=48, encoder_layers=3, decoder_layers=2,
                 encoder_attention_heads=6, decoder_attention_heads=4, encoder_ffn_dim=40,
                 decoder_ffn_dim=56, max_position_embeddings=24, pad_token_id=1,
                 decoder_start_token_id=2, bos_token_id=0, eos_token_id=2)
    torch.manual_seed(0)
    if kind == "bart":
        ref = T.BartForConditionalGeneration(T.BartConfig(**sizes))
    else:
        ref = T.MarianMTModel(T.MarianConfig(**sizes, activation_function="swish",
                                             scale_embedding=True))
    ref = _perturbed(ref)
    model, _, info = open_model(_save(ref, tmp_path))
    cfg = model.cfg
    assert (cfg.n_enc_heads, cfg.n_dec_heads, cfg.d_enc_mlp, cfg.d_dec_mlp) == (6, 4, 40, 56)
    assert info["n_heads"] == {"encoder": 6, "decoder": 4}
    assert info["n_layers"] == {"encoder": 3, "decoder": 2}
    z, x = _ids(90, 2, 17), _ids(90, 2, 24)
    z_mask = torch.ones_like(z, dtype=torch.bool)
    z_mask[1, 12:] = False
    with torch.no_grad():
        ours = model(z, x, z_mask=z_mask)
        theirs = ref(input_ids=z, attention_mask=z_mask.long(), decoder_input_ids=x).logits
    assert (ours - theirs).abs().max().item() < TOL


# -- tokenizers ---------------------------------------------------------------------------

def _reference_ids(folder, text):
    return T.AutoTokenizer.from_pretrained(str(folder))(text)["input_ids"]


def test_roberta_tokenizer_from_vocab_and_merges(tmp_path):
    tok = _byte_bpe()
    tok.model.save(str(tmp_path))  # vocab.json + merges.txt, as RoBERTa folders have them
    ref = _roberta(tok.get_vocab_size(), True)
    _save(ref, tmp_path)
    model, ours, info = open_model(tmp_path)
    ids = encode_text(ours, TEXT, info).ids
    assert ids == _reference_ids(tmp_path, TEXT)
    plain = tok.encode(TEXT).ids  # the trained `tokenizers` model, wrapped in <s> … </s>
    assert ids == [0, *plain, 2]
    with torch.no_grad():  # and the model reads them
        assert model(torch.tensor([ids[:28]])).shape == (1, min(len(ids), 28), len(tok.get_vocab()))


def test_opt_tokenizer_starts_with_its_bos(tmp_path):
    tok = _byte_bpe()
    tok.model.save(str(tmp_path))
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "GPT2Tokenizer", "add_bos_token": True, "bos_token": "</s>",
        "eos_token": "</s>", "unk_token": "</s>", "pad_token": "<pad>"}))
    _save(_opt(tok.get_vocab_size(), True), tmp_path)
    _, ours, info = open_model(tmp_path)
    ids = encode_text(ours, TEXT, info).ids
    assert ids == [2, *tok.encode(TEXT).ids]
    assert ids == _reference_ids(tmp_path, TEXT)


def test_distilbert_tokenizer_from_vocab_txt(tmp_path):
    tok = _wordpiece()
    tok.model.save(str(tmp_path))  # vocab.txt
    _save(_distilbert(tok.get_vocab_size(), True), tmp_path)
    _, ours, info = open_model(tmp_path)
    ids = encode_text(ours, TEXT, info).ids
    assert ids == _reference_ids(tmp_path, TEXT)
    assert ids[0] == tok.token_to_id("[CLS]") and ids[-1] == tok.token_to_id("[SEP]")


@pytest.mark.parametrize("kind", ["llama", "qwen2"])
def test_llama_style_tokenizer_json(tmp_path, kind):
    tok = _byte_bpe(["<|endoftext|>", "<s>", "</s>"])
    if kind == "llama":  # Llama's tokenizer.json puts <s> before every text
        tok.post_processor = processors.TemplateProcessing(
            single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", 1)])
    tok.save(str(tmp_path / "tokenizer.json"))
    _save(_llama(tok.get_vocab_size(), True, kind), tmp_path)
    _, ours, info = open_model(tmp_path)
    ids = encode_text(ours, TEXT, info).ids
    assert ids == Tokenizer.from_file(str(tmp_path / "tokenizer.json")).encode(TEXT).ids
    assert (ids[0] == 1) is (kind == "llama")
    assert len(ids) > 10


# -- refused fields -----------------------------------------------------------------------

def _config_with(tmp_path, ref, **fields):
    _save(ref, tmp_path)
    path = tmp_path / "config.json"
    data = json.loads(path.read_text())
    data.update(fields)
    path.write_text(json.dumps(data))
    return tmp_path


@pytest.mark.parametrize("kind,fields,named", [
    ("llama", {"rope_parameters": {"rope_type": "llama3", "factor": 8.0, "rope_theta": 5e5}},
     "rope_parameters.rope_type='llama3'"),
    ("llama", {"rope_parameters": None, "rope_theta": 1e4,
               "rope_scaling": {"type": "yarn", "factor": 4.0}}, "rope_scaling.rope_type='yarn'"),
    ("llama", {"alibi": True}, "alibi=True"),
    ("llama", {"sliding_window": 4096}, "sliding_window=4096"),
    ("llama", {"partial_rotary_factor": 0.5}, "partial_rotary_factor=0.5"),
    ("llama", {"hidden_act": "gelu"}, "hidden_act='gelu'"),
    ("qwen2", {"use_sliding_window": True, "sliding_window": 16}, "use_sliding_window=True"),
    ("opt", {"word_embed_proj_dim": 24}, "word_embed_proj_dim=24"),
    ("roberta", {"position_embedding_type": "relative_key"}, "position_embedding_type"),
])
def test_unmapped_config_field_is_refused_by_name(tmp_path, kind, fields, named):
    ref = {"llama": lambda: _llama(60, False), "qwen2": lambda: _llama(60, False, "qwen2"),
           "opt": lambda: _opt(60, True), "roberta": lambda: _roberta(60, True)}[kind]()
    folder = _config_with(tmp_path, ref, **fields)
    with pytest.raises(CheckpointError, match="config.json") as caught:
        open_model(folder)
    assert named in str(caught.value)
