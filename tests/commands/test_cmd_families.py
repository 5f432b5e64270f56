"""inspect, generate and render on a Llama-style Hugging Face folder (extensions) and an
OPT folder: every command runs, and the extensions are named."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from explorer.cli import main  # noqa: E402

T = pytest.importorskip("transformers", reason="transformers makes the reference folders")


@pytest.fixture(scope="module")
def llama_folder(tmp_path_factory):
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    folder = tmp_path_factory.mktemp("llama")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(["the cat sat on the mat"] * 10, trainers.BpeTrainer(
        vocab_size=280, special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.save(str(folder / "tokenizer.json"))
    torch.manual_seed(0)
    cfg = T.LlamaConfig(vocab_size=tok.get_vocab_size(), hidden_size=48, num_hidden_layers=2,
                        num_attention_heads=6, num_key_value_heads=2, intermediate_size=40,
                        max_position_embeddings=64, tie_word_embeddings=True)
    T.LlamaForCausalLM(cfg).eval().save_pretrained(folder)
    return folder


def test_inspect_names_the_family_and_the_extensions(llama_folder, capsys):
    assert main(["inspect", "--model", str(llama_folder), "--text", "the cat sat"]) == 0
    out = capsys.readouterr().out
    assert "(Llama) -> Algorithm 10" in out
    assert "not in the paper: rotary positions, Su et al. 2021" in out
    assert "blocks.1.attn.q_pre" in out and "blocks.1.mlp.gated" in out


def test_generate_on_a_llama_style_folder(llama_folder, capsys):
    code = main(["generate", "--model", str(llama_folder), "--prompt", "the cat",
                 "--seed", "1", "--max-new", "5"])
    assert code == 0, capsys.readouterr().err
    assert capsys.readouterr().out.startswith("the cat")


def test_render_the_heads_of_a_grouped_query_layer(llama_folder, tmp_path, capsys):
    out = tmp_path / "heads.png"
    code = main(["render", "--model", str(llama_folder), "--text", "the cat sat", "--view",
                 "heads", "--layer", "1", "-o", str(out)])
    assert code == 0, capsys.readouterr().err
    assert out.stat().st_size > 1000
