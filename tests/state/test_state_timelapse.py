"""The time-lapse's numbers: the loss curve as it is now, and the induction score."""

from __future__ import annotations

import json

import numpy as np

from explorer.state.timelapse import TimeLapseRun, induction_score, read_loss_curve


def test_the_loss_curve_skips_a_half_line_and_follows_a_resumed_run(tmp_path):
    rows = [{"step": s, "loss": v} for s, v in ((1, 3.0), (2, 2.5), (3, 2.4), (2, 2.6),
                                                 (3, 2.2))]
    text = "".join(json.dumps(r) + "\n" for r in rows) + '{"step": 4, "lo'
    (tmp_path / "metrics.jsonl").write_text(text)
    assert read_loss_curve(tmp_path) == ([1, 2, 3], [3.0, 2.6, 2.2])
    run = TimeLapseRun(tmp_path)
    assert run.loss_at(2) == 2.6 and run.loss_at(10) == 2.2 and run.loss_at(0) is None
    assert not run.reload()  # nothing changed
    with (tmp_path / "metrics.jsonl").open("a") as f:
        f.write('ss": 2.0}\n')
    assert run.reload() and run.steps == [1, 2, 3, 4]


def test_the_induction_score_is_the_weight_on_the_token_after_the_earlier_copy():
    ids = [5, 6, 7, 5, 6, 7]
    n = len(ids)
    copy = np.zeros((n, n))  # keys down the rows, queries across
    for t in range(n):
        targets = [j for j in range(1, t) if ids[j - 1] == ids[t]]
        copy[targets[0] if targets else t, t] = 1.0
    assert induction_score(copy, ids) == 1.0
    assert induction_score(np.eye(n), ids) == 0.0  # each query on itself
    assert induction_score(np.eye(3), [1, 2, 3]) is None  # nothing repeats
