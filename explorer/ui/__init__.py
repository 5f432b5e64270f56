"""The window: the only layer that imports Qt.

Importing it first makes ``None``, ``True`` and ``False`` safe from PySide6 6.12.0's
reference leaks (see ``pyside_fix``), so no widget, signal or redraw can drain them.
"""

from explorer.ui.widgets.pyside_fix import keep_constants_alive

keep_constants_alive()
