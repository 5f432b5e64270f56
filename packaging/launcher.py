"""Entry point of the bundled app: the same as the ``transformer-explorer`` command.

With no arguments it opens the window; subcommands (``inspect``, ``train``, ...) work too.

With ``TRANSFORMER_EXPLORER_SELF_CHECK=1`` in the environment it instead prints, as JSON, what
the frozen app finds through ``importlib.resources`` (the files of ``explorer.resources``),
whether the application icon loads, whether a small decoder trains one step (torch without
the modules the spec trimmed away) and, with ``TRANSFORMER_EXPLORER_SELF_CHECK_PNG=PATH``, draws
its attention pattern with pyqtgraph to a PNG; then it exits. ``packaging/smoke.py`` uses it.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import sys


def torch_step() -> tuple[float, object]:
    """Record a forward pass of a small decoder, then take one AdamW step.

    Returns the loss and the first head's attention pattern (a numpy array).
    """
    import torch

    from explorer.core import ModelConfig, build_model
    from explorer.trace import record

    model = build_model(ModelConfig(arch="decoder", vocab_size=12, l_max=8, d_e=16, n_heads=2))
    x = torch.randint(0, 12, (2, 8))
    _logits, trace = record(model, x)
    assert trace.steps, "the trace recorded no steps"
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    logits = model(x)
    loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, 12), x[:, 1:].reshape(-1))
    loss.backward()
    optimizer.step()
    pattern = trace["blocks.0.attn.pattern"][0, 0].numpy()
    return loss.item(), pattern


def render_pattern(pattern, path: str) -> bool:
    """Draw ``pattern`` with pyqtgraph in a widget and save it as PNG (widgets + plugins)."""
    import pyqtgraph as pg

    widget = pg.GraphicsLayoutWidget()
    widget.resize(320, 320)
    view = widget.addViewBox(lockAspect=True, invertY=True)
    view.addItem(pg.ImageItem(pattern.T, levels=(0.0, 1.0), colorMap=pg.colormap.get("magma")))
    widget.show()
    return widget.grab().save(path, "PNG")


def self_check() -> int:
    """Print the bundled resources, the icon's state and a training loss as JSON.

    Returns 0 if resources were found, the icon loads and the loss is finite.
    """
    from importlib.resources import files

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from explorer.ui.widgets.icon import app_icon

    root = files("explorer.resources")
    found: list[str] = []
    stack = [(root, "")]
    while stack:
        node, prefix = stack.pop()
        for child in node.iterdir():
            name = prefix + child.name
            if child.is_dir():
                stack.append((child, name + "/"))
            elif not name.endswith((".py", ".pyc")):
                found.append(name)
    app = QApplication.instance() or QApplication([])
    icon_ok = not app_icon().isNull()
    loss, pattern = torch_step()
    png = os.environ.get("TRANSFORMER_EXPLORER_SELF_CHECK_PNG")
    drawn = render_pattern(pattern, png) if png else None
    app.processEvents()
    report = {
        "frozen": bool(getattr(sys, "frozen", False)),
        "resources": str(root),
        "files": sorted(found),
        "icon": icon_ok,
        "loss": loss,
        "pattern_png": drawn,
    }
    print(json.dumps(report, indent=1))
    ok = icon_ok and found and math.isfinite(loss) and drawn is not False
    return 0 if ok else 1


if __name__ == "__main__":
    # A frozen app must call this before anything starts a worker process.
    multiprocessing.freeze_support()
    if os.environ.get("TRANSFORMER_EXPLORER_SELF_CHECK") == "1":
        raise SystemExit(self_check())
    from explorer.cli import main

    raise SystemExit(main())
