"""The build cache: what the last build knew of every record file, in one SQLite file.

It lets the next build re-read only the files whose size or mtime changed, re-render only the
feeds whose entries changed, and skip everything when nothing did. Anything unexpected (a
missing, corrupt or older-version cache, other settings, another program version) starts it
afresh: a cache can make a build faster, never different.
"""

from __future__ import annotations

import contextlib
import hashlib
import pickle
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from feeds.settings import Settings

SCHEMA = 1


@dataclass(slots=True)
class FileState:
    """One record file as the last build saw it."""

    size: int
    mtime_ns: int
    summary: tuple[Any, ...] | None = None
    """(id, published, digest, keys) of a published entry."""
    draft: bool = False
    error: tuple[str, str] | None = None
    warnings: tuple[tuple[str, str], ...] = ()


@dataclass(slots=True)
class State:
    files: dict[str, FileState] = field(default_factory=dict)
    signatures: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, tuple[int, int]] = field(default_factory=dict)
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    """(record path, reason) of every record that lost to a duplicate."""


def fingerprint(settings: Settings) -> str:
    """Everything besides the records that decides the output: settings and program."""
    program = hashlib.sha256()
    for source in sorted(Path(__file__).parent.rglob("*.py")):
        program.update(source.read_bytes())
    relevant = {
        f.name: getattr(settings, f.name) for f in fields(settings) if f.name != "allow_rejected"
    }
    return hashlib.sha256(f"{SCHEMA}\n{program.hexdigest()}\n{relevant!r}".encode()).hexdigest()


class Cache:
    def __init__(self, path: Path, settings: Settings) -> None:
        self.path = path
        self.fingerprint = fingerprint(settings)
        self.db = self._open()

    def _open(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(self.path)
            db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB)")
            db.execute("CREATE TABLE IF NOT EXISTS entries (path TEXT PRIMARY KEY, blob BLOB)")
            row = db.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchone()
            if row is None or row[0] != self.fingerprint:
                raise ValueError("another build")
            return db
        except (sqlite3.Error, ValueError):
            with contextlib.suppress(NameError, sqlite3.Error):
                db.close()
            return self._fresh()

    def _fresh(self) -> sqlite3.Connection:
        self.path.unlink(missing_ok=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path)
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB)")
        db.execute("CREATE TABLE entries (path TEXT PRIMARY KEY, blob BLOB)")
        db.commit()
        return db

    def state(self) -> State:
        """The last build's state, or an empty one (so every file counts as changed)."""
        try:
            row = self.db.execute("SELECT value FROM meta WHERE key = 'state'").fetchone()
            if row is not None:
                state = pickle.loads(row[0])
                if isinstance(state, State):
                    return state
        except (sqlite3.Error, pickle.UnpicklingError, EOFError, AttributeError, TypeError):
            self.db.close()
            self.db = self._fresh()
        return State()

    def entry_blob(self, path: str) -> bytes | None:
        row = self.db.execute("SELECT blob FROM entries WHERE path = ?", (path,)).fetchone()
        return None if row is None else bytes(row[0])

    def put_entries(self, blobs: Iterable[tuple[str, bytes]]) -> None:
        self.db.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?)", blobs)

    def drop_entries(self, paths: Iterable[str]) -> None:
        self.db.executemany("DELETE FROM entries WHERE path = ?", ((p,) for p in paths))

    def save(self, state: State) -> None:
        blob = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('state', ?)", (blob,))
        self.db.execute(
            "INSERT OR REPLACE INTO meta VALUES ('fingerprint', ?)", (self.fingerprint,)
        )
        self.db.commit()

    def close(self) -> None:
        self.db.close()


def open_cache(settings: Settings) -> tuple[Cache | None, str | None]:
    """The cache for ``settings``, or None and why not (a build then goes without one)."""
    try:
        return Cache(settings.cache_file, settings), None
    except (OSError, sqlite3.Error) as e:
        return None, f"build cache {settings.cache_file} cannot be used ({e}); building without it"
