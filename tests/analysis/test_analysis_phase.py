"""The phase-change detector (explorer.analysis.phase) on synthetic curves."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.analysis import AnalysisError
from explorer.analysis.phase import detect_change, phase_change

STEPS = list(range(0, 1001, 50))  # 21 snapshots


def test_a_step_is_a_step_where_it_jumps():
    values = [0.1 if s < 450 else 0.9 for s in STEPS]
    change = detect_change(STEPS, values, 0.3)
    assert change.kind == "step"
    assert change.start == change.middle == change.end == 450
    assert change.before == pytest.approx(0.1) and change.after == pytest.approx(0.9)


def test_a_ramp_is_a_ramp_centred_on_its_middle():
    values = [min(1.0, max(0.0, (s - 200) / 600)) for s in STEPS]
    change = detect_change(STEPS, values, 0.3)
    assert change.kind == "ramp"
    assert 450 <= change.middle <= 550
    assert change.start < 350 and change.end > 650


def test_no_change_in_a_flat_noisy_curve():
    rng = np.random.default_rng(0)
    values = 0.1 + 0.03 * rng.standard_normal(len(STEPS))
    assert detect_change(STEPS, values, 0.3).kind == "none"
    assert detect_change(STEPS, values, 0.3).middle is None


def test_a_fall_is_found_with_a_negative_threshold():
    values = [0.0 if s < 600 else -1.2 for s in STEPS]
    assert detect_change(STEPS, values, 0.3).kind == "none"  # a fall is not a rise
    change = detect_change(STEPS, values, -0.3)
    assert (change.kind, change.middle) == ("step", 600)


def test_a_noisy_step_stays_a_step():
    rng = np.random.default_rng(1)
    values = np.where(np.array(STEPS) < 300, 0.1, 0.85) + 0.04 * rng.standard_normal(21)
    change = detect_change(STEPS, values, 0.3)
    assert (change.kind, change.middle) == ("step", 300)


def test_phase_change_reads_prefix_matching_first_then_icl():
    prefix = [0.1 if s < 400 else 0.9 for s in STEPS]
    icl = [0.0 if s < 500 else -1.0 for s in STEPS]
    change, by_prefix, by_icl = phase_change(STEPS, prefix, icl)
    assert (change.curve, change.middle) == ("prefix_matching", 400)
    assert by_icl.middle == 500
    change, _, _ = phase_change(STEPS, [0.1] * len(STEPS), icl)
    assert (change.curve, change.middle) == ("icl", 500)
    change, _, _ = phase_change(STEPS, [0.1] * len(STEPS), [0.0] * len(STEPS))
    assert change.kind == "none"


def test_bad_curves_are_refused():
    with pytest.raises(AnalysisError, match="same length"):
        detect_change([0, 1, 2], [0.0, 1.0], 0.3)
    with pytest.raises(AnalysisError, match="at least 3"):
        detect_change([0, 1], [0.0, 1.0], 0.3)
