"""One token, one spelling: the Output bars, the lens grid and a CLI table show a GPT-2-style
byte-level token (``Ġcat``) the same way, as ``explorer.tokenize.token_label`` does
(``␣cat``)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from types import SimpleNamespace  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

from explorer.analysis import logit_lens  # noqa: E402
from explorer.cli import main  # noqa: E402
from explorer.core import ModelConfig, build_model  # noqa: E402
from explorer.state.inputs import encode_text  # noqa: E402
from explorer.state.step_data import vocabulary_labels  # noqa: E402
from explorer.tokenize import token_label, train_tokenizer  # noqa: E402
from explorer.ui.lens.view import LensView  # noqa: E402
from explorer.ui.output.panel import OutputTab  # noqa: E402

CORPUS = ["the cat sat on the mat . the dog ran to the park . it was happy ."] * 30
TEXT = "the cat sat on the mat"


@pytest.fixture(scope="module")
def tok():
    return train_tokenizer("bpe", CORPUS, vocab_size=300)


@pytest.fixture(scope="module")
def cat(tok) -> int:
    token = tok.token_to_id("Ġcat")
    assert token is not None and token_label(tok, token) == "␣cat"
    return token


def test_the_output_bars_show_a_byte_level_token_as_the_heatmaps_do(qtbot, tok, cat):
    labels = encode_text(tok, TEXT, "decoder", 16).chunks[0].labels
    logits = torch.zeros(1, len(labels), tok.vocab_size)
    logits[..., cat] = 10.0  # Ġcat on top at every position
    session = SimpleNamespace(trace={"logits": logits}, tokenizer=tok, arch="decoder",
                              trace_inputs=(labels,), clean_logits=None,
                              compare=SimpleNamespace(ready=False, trace=None))
    tab = OutputTab()
    qtbot.addWidget(tab.view)
    tab.refresh(session)
    top = tab.view.shown()[0]
    assert top[:2] == (cat, "␣cat")  # not the raw "Ġcat"
    assert "␣cat" in labels  # the input labels (heatmap axes, lens columns) agree


def test_the_lens_grid_names_tokens_the_same_way(qtbot, tok, cat):
    torch.manual_seed(0)
    cfg = ModelConfig(arch="decoder", vocab_size=tok.vocab_size, l_max=16, d_e=16,
                      n_heads=2, n_layers=1)
    model = build_model(cfg).eval()
    with torch.no_grad():  # the lens reads Ġcat at the last residual point
        model.stack.final_norm.beta.fill_(1.0)
        model.unembed.W_u.weight.zero_()
        model.unembed.W_u.weight[cat] = 1.0
    enc = encode_text(tok, TEXT, "decoder", 16).chunks[0]
    lens = logit_lens(model, list(enc.ids))
    view = LensView()
    qtbot.addWidget(view)
    view.show_comparison(lens, None, enc.labels, (), vocabulary_labels(tok, tok.vocab_size))
    grid = view.grid
    column = list(enc.ids).index(cat)
    assert "reads “␣cat”" in grid.cell_tip(0, column)
    rows, cols = lens.top_ids.shape[:2]
    shown = {(r, c): grid.cell_text(r, c) for r in range(rows) for c in range(cols)}
    assert shown == {(r, c): token_label(tok, int(lens.top_ids[r, c, 0]))
                     for r in range(rows) for c in range(cols)}
    assert shown[(rows - 1, 0)] == "␣cat"  # not the raw "Ġcat"


def test_a_cli_table_shows_the_same_string(capsys, tmp_path, tok, cat):
    path = tok.save(tmp_path / "tokenizer.json")
    assert main(["tokenize", "--tokenizer", str(path), "--text", TEXT]) == 0
    rows = capsys.readouterr().out.splitlines()
    row = next(r for r in rows if r.split()[1:2] == [str(cat)])
    assert row.split()[2] == "␣cat"
