"""Entry point of the bundled app: the same as the ``transformer-explorer`` command.

With no arguments it opens the window; subcommands (``inspect``, ``train``, ...) work too.
"""

from __future__ import annotations

import multiprocessing

from explorer.cli import main

if __name__ == "__main__":
    # A frozen app must call this before anything starts a worker process.
    multiprocessing.freeze_support()
    raise SystemExit(main())
