"""The snapshot store: how ``feeds serve --workers N`` hands each build to every worker process.

The documents' bytes are already in files that never change: the blobs of the served folder
(``child.py``), named by their digest. So the builder hands over only what describes them, in a
private folder:

    index-000007.json     one generation, whole: every path's digest, size, blob, Last-Modified,
                          Cache-Control, Link and gzip size, the build stats and the build
                          status (``builds``, ``last_error``)
    delta-000007.json     the same generation as a change of the one before (``base``): only
                          the documents that changed, and the paths removed
    current -> index-000007.json

The index and the delta come first, and the ``current`` symlink is replaced last with one
``os.replace``, so a worker that follows ``current`` always finds a whole generation. A worker
that serves the generation a delta is based on reads the delta (a rebuild that changed twelve
documents hands over twelve); any other (at startup, or after it missed one) reads the whole
index. Workers make each document from what is given here (``http.make_document``), so
headers, ETags and Last-Modified are identical in every worker: the Last-Modified rules run in
the builder only. A generation's files are removed once no newer generation has used them for
``grace`` seconds, long after any worker finished reading them.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from feeds.errors import StoreError
from feeds.serve.http import Prepared, Snapshot, header, make_document
from feeds.writing import atomic_write

VERSION = 2
CURRENT = "current"
GRACE_SECONDS = 60.0
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Published:
    """One generation as a worker loaded it."""

    generation: str
    snapshot: Snapshot
    builds: int
    last_error: str | None


class Store:
    """The builder's side: publish a snapshot (or only a new status) as the next generation."""

    def __init__(self, folder: Path, *, grace: float = GRACE_SECONDS) -> None:
        self.folder = folder
        self.grace = grace
        self.generation = 0
        self.published: Snapshot | None = None
        # Every file this store wrote and has not removed -> when a generation last used it.
        self._used: dict[str, float] = {}
        folder.mkdir(parents=True, exist_ok=True)

    def publish(self, snapshot: Snapshot, *, builds: int, last_error: str | None) -> str:
        """Write ``snapshot`` with this status as the next generation, make it current, and
        remove the files that no generation used for ``grace`` seconds. Returns its name."""
        now = time.monotonic()
        self.generation += 1
        name = f"index-{self.generation:06d}.json"
        delta = f"delta-{self.generation:06d}.json"
        previous = self.published.documents if self.published is not None else {}
        status = {
            "version": VERSION,
            "builds": builds,
            "last_error": last_error,
            "built_at": snapshot.built_at.isoformat(),
            "stats": dict(snapshot.stats),
        }
        documents = {path: _entry(doc) for path, doc in snapshot.documents.items()}
        changed = {
            path: documents[path]
            for path, doc in snapshot.documents.items()
            if previous.get(path) is not doc
        }
        removed = sorted(previous.keys() - snapshot.documents.keys())
        base = f"index-{self.generation - 1:06d}.json" if self.published is not None else None
        _write(self.folder / name, {**status, "documents": documents})
        _write(
            self.folder / delta,
            {**status, "base": base, "documents": changed, "removed": removed},
        )
        self._used[name] = self._used[delta] = now
        pointer = self.folder / f"{CURRENT}.tmp"
        pointer.unlink(missing_ok=True)
        pointer.symlink_to(name)
        os.replace(pointer, self.folder / CURRENT)
        self.published = snapshot
        for old, used in list(self._used.items()):
            if used < now - self.grace:
                (self.folder / old).unlink(missing_ok=True)
                del self._used[old]
        return name


def _entry(document: Prepared) -> dict[str, Any]:
    return {
        "digest": document.digest,
        "size": document.size,
        "blob": document.blob,
        "last_modified": document.last_modified.isoformat(),
        "cache_control": header(document, b"cache-control"),
        "link": header(document, b"link"),
        "gzip_size": document.gzip.size if document.gzip is not None else None,
    }


def _write(file: Path, data: dict[str, Any]) -> None:
    atomic_write(file, json.dumps(data, separators=(",", ":"), sort_keys=True).encode())


def current(folder: Path) -> str:
    """The name of the current generation: one readlink, cheap enough to poll."""
    try:
        return os.readlink(folder / CURRENT)
    except OSError as e:
        raise StoreError(f"{folder / CURRENT}: cannot read the current generation: {e}") from e


def load(folder: Path, generation: str, previous: Published | None) -> Published:
    """Read a generation: its delta when ``previous`` is the generation it is based on, else
    the whole index. Documents whose digest and headers did not change are taken from
    ``previous`` as they are (with any gzip body this worker made for them)."""
    old = previous.snapshot if previous is not None else None
    source = folder / generation.replace("index-", "delta-", 1)
    index = _read(source) if previous is not None else None
    if index is None or index.get("base") != previous.generation:  # type: ignore[union-attr]
        source = folder / generation
        index = _read(source)
        if index is None:
            raise StoreError(f"{source}: cannot read the index")
        documents: dict[str, Prepared] = {}
    else:
        assert old is not None
        documents = dict(old.documents)
        for path in _field(source, index, "removed", list):
            documents.pop(path, None)
    if index.get("version") != VERSION:
        raise StoreError(f"{source}: version: expected {VERSION}")
    entries = _field(source, index, "documents", dict)
    for path, entry in entries.items():
        documents[path] = _document(source, path, entry, old)
    last_error = index.get("last_error")
    stats = _field(source, index, "stats", dict)
    snapshot = Snapshot(
        documents=documents,
        built_at=_time(source, "built_at", index.get("built_at")),
        stats={str(key): int(value) for key, value in stats.items()},
    )
    return Published(
        generation=generation,
        snapshot=snapshot,
        builds=_field(source, index, "builds", int),
        last_error=last_error if isinstance(last_error, str) else None,
    )


def _read(source: Path) -> dict[str, Any] | None:
    try:
        index = json.loads(source.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise StoreError(f"{source}: cannot read the index: {e}") from e
    if not isinstance(index, dict):
        raise StoreError(f"{source}: expected an object")
    return index


def _document(source: Path, path: str, entry: Any, previous: Snapshot | None) -> Prepared:
    where = f"documents.{path}"
    if not isinstance(entry, dict):
        raise StoreError(f"{source}: {where}: expected an object")
    digest = _field(source, entry, "digest", str, where)
    size = _field(source, entry, "size", int, where)
    blob = _field(source, entry, "blob", str, where)
    last_modified = _time(source, f"{where}.last_modified", entry.get("last_modified"))
    policy = _field(source, entry, "cache_control", str, where)
    link = entry.get("link")
    old = previous.documents.get(path) if previous else None
    if (
        old is not None
        and (old.digest, old.size, old.blob, old.last_modified)
        == (digest, size, blob, last_modified)
        and header(old, b"cache-control") == policy
        and header(old, b"link") == link
    ):
        return old
    try:
        found = os.stat(blob).st_size
    except OSError as e:
        raise StoreError(f"{blob}: {where}: cannot read the document: {e}") from e
    if found != size:
        raise StoreError(f"{blob}: {where}: {found} bytes where the build made {size}")
    packed = entry.get("gzip_size")
    return make_document(
        path.removeprefix("/"),
        digest,
        size,
        last_modified,
        policy,
        link if isinstance(link, str) else None,
        blob,
        packed if isinstance(packed, int) else None,
    )


def _field(source: Path, data: Mapping[str, Any], key: str, kind: type[T], where: str = "") -> T:
    value = data.get(key)
    if not isinstance(value, kind):
        name = f"{where}.{key}" if where else key
        raise StoreError(f"{source}: {name}: expected {kind.__name__}, got {value!r}")
    return value


def _time(source: Path, name: str, value: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError) as e:
        raise StoreError(f"{source}: {name}: expected an ISO 8601 time, got {value!r}") from e
    if moment.tzinfo is None:
        raise StoreError(f"{source}: {name}: expected a time zone, got {value!r}")
    return moment
