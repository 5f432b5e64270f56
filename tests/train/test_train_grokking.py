"""The grokking preset end to end: the last-token loss, accuracies in metrics.jsonl, and
the Fourier spectrum of its snapshots."""

from __future__ import annotations

import json

import torch

from explorer.analysis.fourier import RunSpectra
from explorer.cli import main
from explorer.data.modular import P
from explorer.train.objectives import Batch, answer_input, batch_loss, last_token_loss
from explorer.train.presets import get_preset
from explorer.train.progress import read_history


def test_the_last_token_loss_scores_each_sequences_last_real_token_only():
    logits = torch.randn(2, 3, 5)  # from the model reading x without its last position
    x = torch.tensor([[1, 2, 3, 4], [1, 2, 4, 0]])
    x_mask = torch.tensor([[True] * 4, [True, True, True, False]])
    loss, n = last_token_loss(logits, x, x_mask)
    want = torch.nn.functional.cross_entropy(torch.stack([logits[0, 2], logits[1, 1]]),
                                             torch.tensor([4, 4]))
    assert n == 2 and torch.allclose(loss, want)

    class Recorder(torch.nn.Module):
        def forward(self, x, x_mask=None):
            self.seen = x
            return logits

    model = Recorder()
    got = batch_loss(model, Batch(x, x_mask), "last-token")
    assert torch.allclose(got, want) and model.seen.shape == (2, 3)
    assert answer_input(Batch(x, None))[1] is None


def test_the_preset_is_the_grokking_recipe():
    p = get_preset("grokking")
    assert p["task"] == "last-token" and p["data"] == "modular" and p["n_layers"] == 1
    assert p["weight_decay"] == 1.0 and p["batch_size"] >= P * P  # full batch
    assert 0.6 <= p["val_fraction"] <= 0.7  # 30-40% of the pairs to train on


def test_a_short_grokking_run_logs_accuracies_and_its_snapshots_have_a_spectrum(
        tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--preset", "grokking", "--out", str(out), "--steps", "4",
                 "--val-every", "2", "--snapshot-every", "2", "--d-e", "32", "--d-mlp", "64",
                 "--threads", "1"]) == 0
    n_train = P * P - int(P * P * 0.6)
    assert f"(full batch: each of the {n_train:,} training examples once a step)" in (
        capsys.readouterr().err)
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    logged = [r for r in rows if "val_accuracy" in r]
    assert [r["step"] for r in logged] == [2, 4]
    for r in logged:
        assert 0.0 <= r["train_accuracy"] <= 1.0 and 0.0 <= r["val_accuracy"] <= 1.0
    h = read_history(out)
    assert h.acc_step == [2, 4] and h.val_accuracy == [r["val_accuracy"] for r in logged]
    spectra = RunSpectra(out)
    assert spectra.reload() and spectra.p == P
    assert spectra.steps == [0, 2, 4]
    assert spectra.norms().shape == (3, P // 2 + 1)
    assert spectra.at(3) is spectra.spectra[1]
    key = spectra.spectra[-1].key
    assert spectra.key_share() == [s.share(key) for s in spectra.spectra]
    assert not spectra.reload()  # nothing new


def test_a_run_of_another_task_has_no_spectrum(tmp_path):
    out = tmp_path / "run"
    assert main(["train", "--preset", "tiny", "--data", "induction", "--out", str(out),
                 "--steps", "2", "--snapshot-every", "2", "--quiet"]) == 0
    spectra = RunSpectra(out)
    assert not spectra.reload() and spectra.p is None
