"""The Lens tab: looking deeper into the model as the user types (issue 15).

The logit lens grid (``grid``) with the per-token loss and the target over depth
(``depth``), direct logit attribution (``dla_view``), the embedding projection
(``pca_view``), composed by ``view.LensView`` and run by ``panel.LensTab`` on a worker
thread (``jobs``). Uses ``explorer.analysis`` for every number; may import
``explorer.ui.widgets`` and the Qt-free layers, not another feature package.
"""
