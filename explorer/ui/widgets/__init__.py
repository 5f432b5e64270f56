"""Shared pieces with no feature knowledge: the panel protocol (``panel``), one action
helper (``actions``), colours and fonts (``style``, ``theme``), the token axis, scroll
helpers, export parts, Qt worker threads (``workers``), the PySide6 fixes and the icon.
May import Qt, pyqtgraph and the Qt-free layers; never a feature package or the window.
"""
