"""One source for each command's summary: the ``HELP`` of its module, which ``--help``
lists (read without importing the modules, so that it stays fast)."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from explorer.cli import COMMANDS, command_help, main


@pytest.mark.parametrize("name", COMMANDS)
def test_the_summary_is_the_modules_help(name):
    module = importlib.import_module(f"explorer.commands.{name.replace('-', '_')}")
    assert command_help(name) == module.HELP


def test_help_lists_every_commands_own_summary(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    for name in COMMANDS:
        assert f"{name} {' '.join(command_help(name).split())}" in text


def test_a_commands_help_starts_with_its_summary(capsys):
    with pytest.raises(SystemExit):
        main(["render", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert command_help("render") in text


def test_help_imports_no_command_module_nor_torch():
    code = ("import sys; from explorer.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "loaded = [m for m in sys.modules if m == 'torch' or m.startswith("
            "'explorer.commands.') and m != 'explorer.commands.counting']\n"
            "print('LOADED', loaded)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "LOADED []" in out
