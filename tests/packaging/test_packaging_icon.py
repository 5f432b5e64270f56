"""The application icon: PNG sizes in explorer.resources, found through importlib.resources."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import struct  # noqa: E402
from importlib.resources import files  # noqa: E402

import pytest  # noqa: E402

from explorer.ui.widgets.icon import ICON_NAME, ICON_SIZES, app_icon, icon_bytes  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_icon_sizes_are_the_freedesktop_ones():
    assert ICON_SIZES == (16, 32, 48, 64, 128, 256, 512)


@pytest.mark.parametrize("size", (16, 32, 48, 64, 128, 256, 512))
def test_png_exists_in_the_package_and_is_square(size):
    resource = files("explorer.resources") / "icons" / f"{ICON_NAME}-{size}.png"
    assert resource.is_file()
    assert _png_size(resource.read_bytes()) == (size, size)


def test_svg_source_is_in_the_package():
    svg = files("explorer.resources") / "icons" / f"{ICON_NAME}.svg"
    text = svg.read_text(encoding="utf-8")
    assert "<svg" in text and 'viewBox="0 0 512 512"' in text


def test_unknown_size_is_a_clear_error():
    with pytest.raises(ValueError, match="no 20 px icon"):
        icon_bytes(20)


def test_app_icon_is_not_null_and_has_every_size(qapp):
    icon = app_icon()
    assert not icon.isNull()
    sizes = {(s.width(), s.height()) for s in icon.availableSizes()}
    assert sizes == {(n, n) for n in ICON_SIZES}
    pixmap = icon.pixmap(48, 48)
    assert pixmap.width() == 48
    # The top-left attention cell is bright yellow, the corner outside the rounded
    # square transparent.
    image = pixmap.toImage()
    assert image.pixelColor(0, 0).alpha() == 0
    cell = image.pixelColor(9, 9)
    assert cell.red() > 200 and cell.green() > 180 and cell.blue() < 150
