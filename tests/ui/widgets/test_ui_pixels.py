"""The pixel makers the views draw with: colours by look-up, hatching for masked cells."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.ui.widgets import style, theme


def _colours(probs, masked=None):
    """The colour of each probability by the plain definition: the nearest of 256 levels."""
    index = np.clip(np.nan_to_num(probs, nan=0.0) * 255.0 + 0.5, 0, 255).astype(np.intp)
    rgba = style.pattern_lut()[index]
    if masked is not None:
        rgba[masked] = (*style.MASK_COLOR, 255)
    return rgba


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(7, 5), (12, 9, 9)])
def test_probs_to_rgba_is_the_colour_map_with_masked_cells_grey(dtype, shape):
    rng = np.random.default_rng(0)
    probs = rng.random(shape).astype(dtype)
    probs.flat[:4] = [np.nan, 0.0, 1.0, 1.7]  # NaN drawn as 0, beyond 1 as 1
    masked = rng.random(shape) < 0.3
    for args in ((probs,), (probs, masked)):
        pixels = style.probs_to_rgba(*args)
        assert pixels.shape == (*shape, 4) and pixels.dtype == np.ubyte
        assert pixels.flags["C_CONTIGUOUS"] and pixels.flags["WRITEABLE"]
        assert np.array_equal(pixels, _colours(*args))


def test_mask_overlay_hatches_exactly_the_masked_cells():
    mask = ~np.tril(np.ones((9, 11), dtype=bool))
    for size in (2, 3, 8):
        image = theme.mask_overlay(mask, size)
        cell = theme.hatch_cell(size)
        assert image.shape == (9 * size, 11 * size, 4) and image.dtype == np.ubyte
        for r in range(9):
            for c in range(11):
                block = image[r * size:(r + 1) * size, c * size:(c + 1) * size]
                assert np.array_equal(block, cell if mask[r, c] else np.zeros_like(cell))
