"""Lecture features: presentation mode (zoom, laser pointer, high contrast), scenes and
lectures, and exporting any view as PNG, SVG, CSV or NPY. The window owns the controllers
(``presentation.PresentationController``, ``scenes.SceneController``); each view
describes its export through
``export_parts()``. May import ``explorer.ui.widgets`` and the Qt-free layers; not the
other feature packages nor the window.
"""
