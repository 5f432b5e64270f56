"""Entry point of the bundled app: the same as the ``transformer-explorer`` command.

With no arguments it opens the window; subcommands (``inspect``, ``train``, ...) work too.

With ``TRANSFORMER_EXPLORER_SELF_CHECK=1`` in the environment it instead prints, as JSON, what
the frozen app finds through ``importlib.resources`` (the files of ``explorer.resources``),
whether the application icon loads and whether a small decoder trains one step (torch with
the modules the spec trimmed away), then exits: ``packaging/smoke.py`` uses it.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import sys


def torch_step() -> float:
    """Record a forward pass of a small decoder, then take one AdamW step; return the loss."""
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
    return loss.item()


def self_check() -> int:
    """Print the bundled resources, the icon's state and a training loss as JSON.

    Returns 0 if resources were found, the icon loads and the loss is finite.
    """
    from importlib.resources import files

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    from explorer.ui.icon import app_icon

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
    _app = QGuiApplication.instance() or QGuiApplication([])
    icon_ok = not app_icon().isNull()
    report = {
        "frozen": bool(getattr(sys, "frozen", False)),
        "resources": str(root),
        "files": sorted(found),
        "icon": icon_ok,
        "loss": torch_step(),
    }
    print(json.dumps(report, indent=1))
    return 0 if icon_ok and found and math.isfinite(report["loss"]) else 1


if __name__ == "__main__":
    # A frozen app must call this before anything starts a worker process.
    multiprocessing.freeze_support()
    if os.environ.get("TRANSFORMER_EXPLORER_SELF_CHECK") == "1":
        raise SystemExit(self_check())
    from explorer.cli import main

    raise SystemExit(main())
