"""The snapshot store: how ``feeds serve --workers N`` hands one build to every worker process.

The builder publishes each build into a private folder:

    blobs/<digest>        each document's bytes, named by their hash, written once
    blobs/<digest>.gz     and its gzip body, so that no worker compresses it again
    index-000007.json     one generation: every path's digest, Last-Modified, Cache-Control and
                          Link, the build stats and the build status (``builds``, ``last_error``)
    current -> index-000007.json

Blobs come first, then the index, and the ``current`` symlink is replaced last with one
``os.replace``, so a worker that follows ``current`` always finds a whole generation. Workers
rebuild each document from its bytes and the times given here (``serving.make_document``), so
bodies, ETags and Last-Modified are identical in every worker: the first_seen and Last-Modified
rules run in the builder only. A generation's files are removed once no newer generation has
used them for ``grace`` seconds, long after any worker finished reading them.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from feeds.errors import StoreError
from feeds.serve.http import MIN_COMPRESS, Prepared, Snapshot, header, make_document
from feeds.writing import atomic_write

VERSION = 1
CURRENT = "current"
BLOBS = "blobs"
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
        # Every file this store wrote and has not removed -> when a generation last used it.
        self._used: dict[str, float] = {}
        (folder / BLOBS).mkdir(parents=True, exist_ok=True)

    def publish(self, snapshot: Snapshot, *, builds: int, last_error: str | None) -> str:
        """Write ``snapshot`` with this status as the next generation, make it current, and
        remove the files that no generation used for ``grace`` seconds. Returns its name."""
        now = time.monotonic()
        self.generation += 1
        name = f"index-{self.generation:06d}.json"
        documents: dict[str, dict[str, Any]] = {}
        for path, document in snapshot.documents.items():
            blob = f"{BLOBS}/{document.digest}"
            # A restarted worker reads every blob: put back any that a /tmp cleaner removed.
            packed = document.gzip.body if document.gzip is not None else None
            if blob not in self._used or not self._present(blob, packed is not None):
                atomic_write(self.folder / blob, document.identity.body)
                if packed is not None:
                    atomic_write(self.folder / f"{blob}.gz", packed)
            self._used[blob] = now
            documents[path] = {
                "digest": document.digest,
                "last_modified": document.last_modified.isoformat(),
                "cache_control": header(document, b"cache-control"),
                "link": header(document, b"link"),
            }
        index = {
            "version": VERSION,
            "builds": builds,
            "last_error": last_error,
            "built_at": snapshot.built_at.isoformat(),
            "stats": dict(snapshot.stats),
            "documents": documents,
        }
        atomic_write(self.folder / name, json.dumps(index, indent=1, sort_keys=True).encode())
        self._used[name] = now
        pointer = self.folder / f"{CURRENT}.tmp"
        pointer.unlink(missing_ok=True)
        pointer.symlink_to(name)
        os.replace(pointer, self.folder / CURRENT)
        for old, used in list(self._used.items()):
            if used < now - self.grace:
                (self.folder / old).unlink(missing_ok=True)
                (self.folder / f"{old}.gz").unlink(missing_ok=True)
                del self._used[old]
        return name

    def _present(self, blob: str, packed: bool) -> bool:
        path = self.folder / blob
        return path.exists() and (not packed or path.with_name(f"{path.name}.gz").exists())


def current(folder: Path) -> str:
    """The name of the current generation: one readlink, cheap enough to poll."""
    try:
        return os.readlink(folder / CURRENT)
    except OSError as e:
        raise StoreError(f"{folder / CURRENT}: cannot read the current generation: {e}") from e


def load(folder: Path, generation: str, previous: Snapshot | None) -> Published:
    """Read a generation. Documents whose digest and headers did not change are taken from
    ``previous`` as they are, so a reload reads and compresses only the changed ones."""
    source = folder / generation
    try:
        index = json.loads(source.read_bytes())
    except (OSError, ValueError) as e:
        raise StoreError(f"{source}: cannot read the index: {e}") from e
    if not isinstance(index, dict) or index.get("version") != VERSION:
        raise StoreError(f"{source}: version: expected {VERSION}")
    entries = _field(source, index, "documents", dict)
    documents: dict[str, Prepared] = {}
    for path, entry in entries.items():
        documents[path] = _document(folder, source, path, entry, previous)
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


def _document(
    folder: Path, source: Path, path: str, entry: Any, previous: Snapshot | None
) -> Prepared:
    where = f"documents.{path}"
    if not isinstance(entry, dict):
        raise StoreError(f"{source}: {where}: expected an object")
    digest = _field(source, entry, "digest", str, where)
    last_modified = _time(source, f"{where}.last_modified", entry.get("last_modified"))
    policy = _field(source, entry, "cache_control", str, where)
    link = entry.get("link")
    old = previous.documents.get(path) if previous else None
    if (
        old is not None
        and old.digest == digest
        and old.last_modified == last_modified
        and header(old, b"cache-control") == policy
        and header(old, b"link") == link
    ):
        return old
    blob = folder / BLOBS / digest
    body = _read(blob, where)
    if hashlib.sha256(body).hexdigest()[:32] != digest:
        raise StoreError(f"{blob}: {where}: the bytes do not match their digest")
    compressed = None
    if len(body) >= MIN_COMPRESS:
        packed = blob.with_name(f"{digest}.gz")
        compressed = _read(packed, where)
        # The gzip trailer: CRC-32 and size of the bytes it holds, cheaper than inflating them.
        if compressed[-8:] != struct.pack("<II", zlib.crc32(body), len(body) & 0xFFFFFFFF):
            raise StoreError(f"{packed}: {where}: the gzip body does not hold the document")
    return make_document(
        path.removeprefix("/"),
        body,
        digest,
        last_modified,
        policy,
        link if isinstance(link, str) else None,
        compressed,
    )


def _read(blob: Path, where: str) -> bytes:
    try:
        return blob.read_bytes()
    except OSError as e:
        raise StoreError(f"{blob}: {where}: cannot read the document: {e}") from e


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
