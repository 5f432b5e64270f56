"""The masks side by side (issue 30 §3)."""

from __future__ import annotations

import numpy as np

from explorer.state.masks import explain, masks_of


def test_three_masks_on_the_same_tokens_and_what_a_cell_says():
    x, z = ["the", "king", "sings"], ["le", "roi"]
    bi, uni, cross = masks_of(x, z)
    assert bi.allowed.all() and bi.allowed.shape == (3, 3)
    assert (uni.allowed == np.triu(np.ones((3, 3), bool))).all()  # rows t_z ≤ columns t_x
    assert cross.allowed.shape == (2, 3) and cross.allowed.all()
    assert uni.x_labels == bi.x_labels == cross.x_labels == tuple(x)
    later = explain(uni, 2, 0)  # 'the' and the later 'sings'
    assert "t_z > t_x" in later and "'the' may not see the later 'sings'" in later
    assert "a token may attend only to earlier ones" in later
    assert "t_z ≤ t_x" in explain(uni, 0, 2)
    assert "every token sees every token" in explain(bi, 2, 0)
    assert "the encoder's 'roi'" in explain(cross, 1, 0)
    assert masks_of(x)[2].z_labels == tuple(x)  # no context: the cross mask's rows are x
