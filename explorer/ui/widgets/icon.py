"""The application icon, loaded from the installed package ``explorer.resources``.

Resources are found through ``importlib.resources`` only, so the icon loads the same way from
a source checkout, an installed wheel and the PyInstaller bundle.
"""

from __future__ import annotations

from importlib.resources import files

from PySide6.QtGui import QIcon, QPixmap

ICON_NAME = "transformer-explorer"
ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)


def icon_bytes(size: int) -> bytes:
    """The PNG bytes of the ``size`` px icon (one of ``ICON_SIZES``)."""
    if size not in ICON_SIZES:
        raise ValueError(f"no {size} px icon; sizes are {', '.join(map(str, ICON_SIZES))}")
    return (files("explorer.resources") / "icons" / f"{ICON_NAME}-{size}.png").read_bytes()


def app_icon() -> QIcon:
    """The window icon, with every rendered PNG size (Qt scales from the nearest one).

    Needs a ``QGuiApplication`` (pixmaps are decoded when the icon is built).
    """
    icon = QIcon()
    for size in ICON_SIZES:
        pixmap = QPixmap()
        if not pixmap.loadFromData(icon_bytes(size), "PNG"):
            raise OSError(f"the bundled {size} px icon is not a readable PNG")
        icon.addPixmap(pixmap)
    return icon
