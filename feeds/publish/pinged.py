"""``.feeds-pinged``: which bytes of each subscription document every hub was last told about.

Hubs are pinged for exactly the feeds whose bytes differ from this record, and only successes
are recorded, so a ping that failed is sent again by the next ``feeds ping``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

from feeds.errors import FeedsError, WriteError
from feeds.layout import is_subscription_document
from feeds.writing import atomic_write, listed_files, locked, safe_path

PINGED = ".feeds-pinged"


def subscription_documents(paths: list[str]) -> list[str]:
    """The feeds people subscribe to among ``paths`` (archive pages and the index are not)."""
    return sorted(p for p in paths if is_subscription_document(p))


def to_ping(folder: Path) -> dict[str, str]:
    """Path -> sha256 of every subscription document in ``folder`` whose bytes were not yet
    pinged to every hub (every one of them when nothing was pinged before)."""
    done = read(folder)
    changed: dict[str, str] = {}
    for path in subscription_documents(listed_files(folder)):
        try:
            digest = hashlib.sha256(safe_path(folder, path).read_bytes()).hexdigest()
        except FileNotFoundError:
            continue  # deleted by hand: nothing to announce, the next build writes it again
        except OSError as e:
            raise FeedsError(f"cannot read {folder / path}: {e.strerror or e}") from None
        if done.get(path) != digest:
            changed[path] = digest
    return changed


def read(folder: Path) -> dict[str, str]:
    """The record; a missing or damaged one is empty, which only means pinging again."""
    try:
        data = json.loads((folder / PINGED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}


def remember(folder: Path, delivered: Mapping[str, str]) -> None:
    """Add ``delivered`` (path -> sha256) to the record, and forget feeds no longer built."""
    current = set(listed_files(folder))
    record = {p: d for p, d in read(folder).items() if p in current}
    record.update(delivered)
    text = json.dumps(dict(sorted(record.items())), indent=1) + "\n"
    if record == read(folder):
        return  # nothing new (no record reads as an empty one): the file is left untouched
    try:
        with locked(folder):  # a build removes the temporary files it finds in the folder
            atomic_write(folder / PINGED, text.encode("utf-8"))
    except OSError as e:
        raise WriteError(f"cannot write {folder / PINGED}: {e.strerror or e}") from e


def forget(folder: Path) -> bool:
    """Remove the record (``feeds clean``); True if there was one."""
    try:
        (folder / PINGED).unlink()
    except FileNotFoundError:
        return False
    return True
