"""The Infer tab: generation (Algorithms 14 and 15), fill-mask and classification
(``tab.InferenceTab``). May import ``explorer.ui.widgets`` and the Qt-free layers; not the
other feature packages nor the window.
"""
