"""Lecture features: presentation mode (zoom, laser pointer, high contrast), scenes and
lectures, and exporting any view as PNG, SVG, CSV or NPY. Installed on the window by
``presentation.install_lecture_features``; each view describes its export through
``export_parts()``. May import ``explorer.ui.widgets`` and the Qt-free layers; not the
other feature packages nor the window.
"""
