"""The tokenization view: a text as coloured token pieces with ids, its count against
ℓ_max, and a comparison of tokenizer kinds. May import ``explorer.ui.widgets`` and the
Qt-free layers; not the other feature packages nor the window.
"""
