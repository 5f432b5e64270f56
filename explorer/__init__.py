"""Transformer Explorer: the algorithms of *Formal Algorithms for Transformers*, made visible.

The package is layered (see STYLE): ``core`` holds the paper's algorithms in plain
PyTorch, ``trace`` records every intermediate, ``tokenize``/``data``/``train``/``io``
build on them, ``state`` is the Qt-free session, and only ``ui`` imports Qt.
"""

__version__ = "0.1.0"
