"""The bundled trained models meet their quality bars on a small held-out sample."""

from __future__ import annotations

import argparse

from explorer.bench import quality


def test_bundled_models_meet_their_bars():
    result = quality.run(argparse.Namespace(n=60, samples=12, only=None))
    dec = result["decoder"]
    assert dec["val_loss_nats_per_char"] < dec["grammar_entropy_nats_per_char"] + 0.15, dec
    assert dec["grammatical_rate"] >= 0.75, dec
    assert result["encoder"]["masked_accuracy"] >= 0.80, result["encoder"]
    assert result["seq2seq"]["exact_match"] >= 0.95, result["seq2seq"]
    assert result["classifier"]["accuracy"] >= 0.95, result["classifier"]
