"""The inspector: the input panel, the step list, the step heatmap, the pseudocode (Paper)
panel and the overview. May import ``explorer.ui.widgets`` and the Qt-free layers; not the
other feature packages nor the window.
"""
