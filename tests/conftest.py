"""Test configuration shared by every test: headless Qt, few threads, quiet settings."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TRANSFORMER_EXPLORER_TESTING", "1")

import torch  # noqa: E402

torch.set_num_threads(min(2, torch.get_num_threads()))
