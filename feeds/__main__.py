"""``python -m feeds`` and the ``feeds`` command: :func:`feeds.cli.main`, imported here so that
a Ctrl-C while Python loads it (or before it runs a command) is one line too, not a traceback."""

import sys


def main() -> int:
    try:
        from feeds.cli import main as command

        return command()
    except KeyboardInterrupt:
        print("feeds: interrupted", file=sys.stderr)
        return 130  # feeds.cli.EXIT_INTERRUPTED, which may not be loaded


if __name__ == "__main__":
    raise SystemExit(main())
