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

SCHEMA = 4
# Per record file: its entry (a pickle) and the entry rendered in every format (a pickled tuple),
# so documents are put together without rendering any entry again.
ENTRIES = "CREATE TABLE IF NOT EXISTS entries (path TEXT PRIMARY KEY, blob BLOB, fragments BLOB)"


# What the last build knew of one record file, as a plain tuple (100,000 of them load in a
# fraction of a second): (summary, draft, error, warnings), where summary is
# (id, published as POSIX seconds, digest, feed keys, size) of a published entry, error is
# (field, reason) and warnings are (field, reason) pairs.
FileState = tuple[Any, bool, Any, tuple[tuple[str, str], ...]]


@dataclass(slots=True)
class Report:
    """What a build with nothing to do prints again, and the outputs it must find intact."""

    published: int = 0
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    """(record path as shown, reason) of every record that lost to a duplicate."""
    signatures: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, tuple[int, int]] = field(default_factory=dict)


@dataclass(slots=True)
class State:
    stats: dict[str, tuple[int, int]] = field(default_factory=dict)
    files: dict[str, FileState] = field(default_factory=dict)
    report: Report = field(default_factory=Report)


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
            db.execute(ENTRIES)
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
        db.execute(ENTRIES)
        db.commit()
        return db

    def load(self, *keys: str) -> list[Any]:
        """The pickled values saved under ``keys``; an unreadable cache starts afresh."""
        try:
            values = []
            for key in keys:
                row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
                values.append(None if row is None else pickle.loads(row[0]))
            return values
        except (sqlite3.Error, pickle.UnpicklingError, EOFError, AttributeError, TypeError):
            self.db.close()
            self.db = self._fresh()
            return [None] * len(keys)

    def quick_state(self) -> State:
        """The file stats and the report only: enough to see that nothing changed."""
        stats, report = self.load("stats", "report")
        if isinstance(stats, dict) and isinstance(report, Report):
            return State(stats=stats, report=report)
        return State()

    def full_state(self, quick: State) -> State:
        (files,) = self.load("files")
        if isinstance(files, dict) and files.keys() == quick.stats.keys():
            return State(stats=quick.stats, files=files, report=quick.report)
        return State()

    def entry_blob(self, path: str) -> bytes | None:
        row = self.db.execute("SELECT blob FROM entries WHERE path = ?", (path,)).fetchone()
        return None if row is None else bytes(row[0])

    def fragments(self, paths: list[str]) -> dict[str, bytes]:
        """The rendered entries of the record files at ``paths`` (those the cache has)."""
        found: dict[str, bytes] = {}
        for start in range(0, len(paths), 500):  # SQLite limits the parameters of a query
            chunk = paths[start : start + 500]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT path, fragments FROM entries WHERE path IN ({marks})"
            found.update((path, bytes(data)) for path, data in self.db.execute(query, chunk))
        return found

    def put_entries(self, rows: Iterable[tuple[str, bytes, bytes]]) -> None:
        self.db.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?)", rows)

    def drop_entries(self, paths: Iterable[str]) -> None:
        self.db.executemany("DELETE FROM entries WHERE path = ?", ((p,) for p in paths))

    def save(self, state: State, *, only_report: bool = False) -> None:
        """Record ``state`` (with ``only_report``, its report: the files were saved before)."""
        saved: dict[str, Any] = {"report": state.report}
        if not only_report:
            saved |= {"stats": state.stats, "files": state.files}
        for key, value in saved.items():
            blob = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, blob))
        self.db.execute(
            "INSERT OR REPLACE INTO meta VALUES ('fingerprint', ?)", (self.fingerprint,)
        )
        self.db.commit()

    def reopen(self) -> None:
        """A connection of this process's own (after a fork, the parent's must not be used)."""
        self.db = sqlite3.connect(self.path)

    def close(self) -> None:
        self.db.close()


def open_cache(settings: Settings) -> tuple[Cache | None, str | None]:
    """The cache for ``settings``, or None and why not (a build then goes without one)."""
    try:
        return Cache(settings.cache_file, settings), None
    except (OSError, sqlite3.Error) as e:
        return None, f"build cache {settings.cache_file} cannot be used ({e}); building without it"
