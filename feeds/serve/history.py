"""The Last-Modified history of ``feeds serve`` across restarts: every path ever served, with
the digest and Last-Modified it was last served with, in a small JSON file beside the build
cache (never in the output folder, which must equal a cold build's). A damaged file is reported,
never raised: the server then starts without it."""

from __future__ import annotations

import contextlib
import glob
import json
import time
from datetime import UTC, datetime
from pathlib import Path

from feeds.serve.http import History
from feeds.writing import TEMP_MARK, atomic_write

HISTORY_VERSION = 1
# A history is written in milliseconds: a temporary file this old was left by a killed process.
LEFTOVER_SECONDS = 60.0


def load_history(path: Path) -> tuple[dict[str, tuple[str, datetime]], str | None]:
    """The history saved in ``path`` and, when it cannot be used, why (then it is empty)."""
    try:
        data = json.loads(path.read_bytes())
        if data.get("version") != HISTORY_VERSION:
            raise ValueError(f"version: expected {HISTORY_VERSION}")
        history = {}
        for key, (digest, seconds) in data["paths"].items():
            if not isinstance(key, str) or not isinstance(digest, str):
                raise ValueError(f"{key!r}: expected a path and a digest")
            history[key] = (digest, datetime.fromtimestamp(int(seconds), UTC))
    except FileNotFoundError:
        return {}, None
    except (OSError, ValueError, TypeError, KeyError, AttributeError, OverflowError) as e:
        return {}, f"{type(e).__name__}: {e}" if not isinstance(e, OSError) else str(e)
    return history, None


def remove_leftovers(path: Path) -> None:
    """Remove the temporary files of :func:`save_history` that killed processes left."""
    limit = time.time() - LEFTOVER_SECONDS
    for leftover in path.parent.glob(f"{TEMP_MARK}-*-{glob.escape(path.name)}"):
        with contextlib.suppress(OSError):
            if leftover.stat().st_mtime < limit:
                leftover.unlink()


def save_history(path: Path, history: History) -> None:
    """Write ``history`` to ``path`` whole: under a temporary name, then renamed over it."""
    data = {
        "version": HISTORY_VERSION,
        "paths": {
            key: [digest, int(moment.timestamp())]
            for key, (digest, moment) in sorted(history.items())
        },
    }
    atomic_write(path, json.dumps(data, separators=(",", ":")).encode())
