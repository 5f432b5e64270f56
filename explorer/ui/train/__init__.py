"""The Train tab: live training on a worker thread with curves, samples and checkpoints
(``tab.TrainTab``). May import ``explorer.ui.widgets`` and the Qt-free layers; not the
other feature packages nor the window.
"""
