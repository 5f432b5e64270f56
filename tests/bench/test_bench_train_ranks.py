"""``bench train --nproc 2``: one process against two DDP ranks, interleaved rounds."""

from __future__ import annotations

import json

import pytest

from explorer.cli import main


@pytest.mark.slow
def test_bench_train_nproc_prints_both_rates_and_the_scaling(capsys) -> None:
    code = main(["bench", "train", "--nproc", "2", "--sizes", "small", "--batch-size", "4",
                 "--steps", "1", "--rounds", "1", "--threads", "2"])
    out = capsys.readouterr().out
    assert code == 0, out
    result = json.loads(out)
    assert result["benchmark"] == "train --nproc" and result["backend"] == "gloo"
    assert result["one_rank"]["batch"] == 4 and result["ranks"]["batch_per_rank"] == 2
    assert result["ranks"]["threads_per_rank"] == 1 and result["one_rank"]["threads"] == 2
    assert result["one_rank"]["tokens_per_s"] > 0 and result["ranks"]["tokens_per_s"] > 0
    assert result["scaling_efficiency"] == round(result["speedup"] / 2, 3)
    (row,) = result["rounds"]
    assert {"1 rank_s", "2 ranks_s", "machine_busy", "others_busy", "contended"} <= set(row)
    assert main(["bench", "train", "--nproc", "2", "--batch-size", "5"]) == 2
    assert "does not split" in capsys.readouterr().err


def test_bench_train_and_its_ranks_import_no_circle() -> None:
    """Both share their sizes and corpus through ``bench.train_sizes``; only ``bench train``
    reaches the ranks' module (for ``--nproc``)."""
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("explorer")
    assert graph.find_shortest_chain(importer="explorer.bench.train_ranks",
                                     imported="explorer.bench.train") is None
