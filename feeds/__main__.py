"""``python -m feeds``: the same command as ``feeds``."""

from feeds.cli import main

raise SystemExit(main())
