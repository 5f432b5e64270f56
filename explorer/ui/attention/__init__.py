"""The Attention tab: one head's pattern with its mask, token-to-token lines, and the grid
of every head of every layer (``panel.AttentionTab``). May import ``explorer.ui.widgets``
and the Qt-free layers; not the other feature packages nor the window.
"""
