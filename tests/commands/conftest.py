"""Shared by the command tests."""

from __future__ import annotations

import json

from explorer.cli import main


def analyze_json(capsys, argv) -> dict:
    """``transformer-explorer analyze ARGV --json``, which must succeed, as a dict."""
    assert main(["analyze", *argv, "--json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)
