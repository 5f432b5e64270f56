"""``python -m explorer`` is the same as the ``transformer-explorer`` command."""

from explorer.cli import main

if __name__ == "__main__":  # importing the module (pkgutil, PyInstaller) runs nothing
    raise SystemExit(main())
