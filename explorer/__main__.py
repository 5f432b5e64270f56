"""``python -m explorer`` is the same as the ``transformer-explorer`` command."""

from explorer.cli import main

raise SystemExit(main())
