"""The Time-lapse tab: a slider over a run's weight snapshots showing one view at each step
(a head's attention, the output distribution) with a cursor on the loss curve, Play, and
export as an animated GIF or PNG frames. May import ``explorer.state``, ``explorer.train``
and ``explorer.ui.widgets``; never another feature folder or the window."""
