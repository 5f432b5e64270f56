"""The Output tab: the output distribution at a position as ranked bars, reshaped by a
temperature (``panel.OutputTab``). May import ``explorer.ui.widgets`` and the Qt-free
layers; not the other feature packages nor the window.
"""
