"""The Interventions dock (issue 16): what is switched off or patched, each removable, a
master switch, the effect on the output, and the sweeps (head importance, activation
patching from text A to text B) as heatmaps that open the head or position clicked.

Uses ``explorer.analysis`` and ``explorer.state`` for every number; may import
``explorer.ui.widgets``, not another feature package.
"""
