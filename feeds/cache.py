"""The build cache: what the last build knew of every record file, in one SQLite database.

It lets the next build re-read only the files whose size or mtime changed, re-render only the
feeds whose entries changed, and skip everything when nothing did. A cache can make a build
faster, never different, and never make it fail: other settings or another program version
start it afresh, and any damage (bad pages, a value whose checksum does not match, a database
that cannot be written, a full disk) raises :class:`CacheError`, after which the build runs
again without it.

The cache is a folder marked with a ``CACHEDIR.TAG`` (the Cache Directory Tagging
Specification, which backup tools honour), so feeds only ever replaces a cache it made: a
``cache`` setting that names anything else is refused (:func:`check_cache_path`).
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import pickle
import shutil
import sqlite3
import sys
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from feeds.errors import CacheError
from feeds.settings import Settings

SCHEMA = 8
DATABASE = "build.sqlite"
TAG = "CACHEDIR.TAG"
TAG_TEXT = (
    b"Signature: 8a477f597d28d172789f06886806bc55\n"
    b"# This file is a cache directory tag created by feeds (its build cache).\n"
    b"# For information about cache directory tags, see https://bford.info/cachedir/\n"
)
# Per record file: its entry (a pickle) and the entry rendered in every format (a pickled tuple),
# so documents are put together without rendering any entry again. Every value stored starts
# with the CRC-32 of the rest: SQLite checks its pages' structure, not the bytes of a value.
ENTRIES = "CREATE TABLE IF NOT EXISTS entries (path TEXT PRIMARY KEY, fragments BLOB)"
# What is known of every record file, in shards by a hash of its path: a build saves again only
# the shards of the files that changed.
FILES = "CREATE TABLE IF NOT EXISTS files (shard INTEGER PRIMARY KEY, value BLOB)"
SHARDS = 64
# Per feed, (grouping, key): its members, so that a build plans only the feeds that changed.
MEMBERS = (
    "CREATE TABLE IF NOT EXISTS members"
    " (grouping TEXT, key TEXT, value BLOB, PRIMARY KEY (grouping, key))"
)


# The rows the cache keeps of every record file. Plain tuples, named by type only: 100,000 of
# them load in 0.05 s, against 0.44 s as NamedTuples (pickle calls the class for each one).
FeedKeys = tuple[tuple[tuple[str, str], str], ...]
"""The feeds an entry belongs to: ((grouping, key), name) each."""
SummaryRow = tuple[str, int, str, FeedKeys, int]
"""A published entry: (id, published as POSIX seconds, digest, feed keys, size in bytes)."""
ProblemRow = tuple[str, str]
"""(field, reason) of a rejection or a warning."""
FileState = tuple[SummaryRow | None, bool, ProblemRow | None, tuple[ProblemRow, ...]]
"""What the last build knew of one record file: (summary, draft, error, warnings)."""


@dataclass(slots=True)
class Report:
    """What a build with nothing to do prints again, and the outputs it must find intact."""

    published: int = 0
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    """(record path as shown, reason) of every record that lost to a duplicate."""
    signatures: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, tuple[int, int]] = field(default_factory=dict)
    drafts: int = 0
    entries: int = 0
    """Record files that gave an entry (published, or lost to a duplicate)."""
    problems: dict[str, tuple[ProblemRow | None, tuple[ProblemRow, ...]]] = field(
        default_factory=dict
    )
    """(rejection, warnings) of each record file that has any: so a build with nothing to do
    prints them again without loading what is known of every file."""


@dataclass(slots=True)
class State:
    stats: dict[str, tuple[int, int]] = field(default_factory=dict)
    scanned: bytes = b""
    """:func:`scan_digest` of the record files these ``stats`` were taken from."""
    files: dict[str, FileState] = field(default_factory=dict)
    report: Report = field(default_factory=Report)


def fingerprint(settings: Settings) -> str:
    """Everything besides the records that decides the output: settings and program."""
    program = hashlib.sha256(sys.version.encode())  # marshal's format is the interpreter's
    for source in sorted(Path(__file__).parent.rglob("*.py")):
        program.update(source.read_bytes())
    relevant = {
        f.name: getattr(settings, f.name) for f in fields(settings) if f.name != "allow_rejected"
    }
    # A custom feed's title names that feed alone: a build plans it again (see retitled).
    relevant["custom_feeds"] = tuple(replace(f, title="") for f in settings.custom_feeds)
    return hashlib.sha256(f"{SCHEMA}\n{program.hexdigest()}\n{relevant!r}".encode()).hexdigest()


def scan_digest(files: list[tuple[str, int, int]]) -> bytes:
    """A digest of a records folder's scan (path, size, mtime of every record file, in path
    order): equal digests, equal stats. A build with nothing to do compares this alone, rather
    than loading and comparing 100,000 stats."""
    # Version 2: no back-references, whose use depends on reference counts, not on values.
    return hashlib.blake2b(marshal.dumps(files, 2), digest_size=16).digest()


def seal(data: bytes) -> bytes:
    """``data`` behind its checksum, as the cache stores every value."""
    return zlib.crc32(data).to_bytes(4, "big") + data


def unseal(stored: bytes) -> bytes:
    """The value sealed in ``stored``; :class:`CacheError` when it was damaged."""
    data = stored[4:]
    if len(stored) < 4 or zlib.crc32(data).to_bytes(4, "big") != stored[:4]:
        raise CacheError("a stored value does not match its checksum")
    return data


def is_cache(folder: Path) -> bool:
    """Whether ``folder`` is a build cache feeds made (it holds feeds' ``CACHEDIR.TAG``)."""
    try:
        return (folder / TAG).read_bytes() == TAG_TEXT
    except OSError:
        return False


def check_cache_path(folder: Path) -> str | None:
    """Why ``folder`` cannot be the build cache (it exists and is not one), or None."""
    if not folder.exists() and not folder.is_symlink():
        return None
    if not folder.is_dir():
        return "exists and is not a feeds build cache (a folder with feeds' CACHEDIR.TAG)"
    if is_cache(folder):
        return None
    try:
        empty = not any(folder.iterdir())
    except OSError as e:
        return f"cannot be read: {e.strerror or e}"
    return None if empty else "is a folder with other files, not a feeds build cache"


@contextlib.contextmanager
def guarded() -> Iterator[None]:
    """Turn whatever a damaged, unwritable or full cache raises into one :class:`CacheError`."""
    try:
        yield
    except CacheError:
        raise
    except (sqlite3.Error, OSError, pickle.UnpicklingError, EOFError, MemoryError) as e:
        raise CacheError(f"{type(e).__name__}: {e}") from None
    except (AttributeError, TypeError, ValueError, IndexError, KeyError, ImportError) as e:
        raise CacheError(f"a stored value cannot be read ({type(e).__name__}: {e})") from None


class Cache:
    def __init__(self, folder: Path, settings: Settings) -> None:
        self.folder = folder
        self.path = folder / DATABASE
        self.settings = settings
        self.fingerprint = fingerprint(settings)
        self.shards: dict[int, set[str]] = {}
        """The paths in each shard of the files' states, as :meth:`full_state` loaded them."""
        with guarded():
            self.db = self._open()

    def _open(self) -> sqlite3.Connection:
        if not is_cache(self.folder):
            return self._fresh()
        db = None
        try:
            db = sqlite3.connect(self.path)
            db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB)")
            db.execute(ENTRIES)
            db.execute(MEMBERS)
            db.execute(FILES)
            row = db.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchone()
            if row is None or row[0] != self.fingerprint:
                raise ValueError("another build")
            # A cache that cannot be written (read-only, another owner, a full disk) is found
            # out here, before the build relies on it.
            db.execute("INSERT OR REPLACE INTO meta VALUES ('opened', 1)")
            db.commit()
            return db
        except (sqlite3.Error, ValueError):
            if db is not None:
                with contextlib.suppress(sqlite3.Error):
                    db.close()
            return self._fresh()

    def _fresh(self) -> sqlite3.Connection:
        discard(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / TAG).write_bytes(TAG_TEXT)
        db = sqlite3.connect(self.path)
        # Values are replaced at every build (the fragments of edited records, the members of
        # the feeds planned again): without this, the freed pages would double the file.
        db.execute("PRAGMA auto_vacuum = INCREMENTAL")
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB)")
        db.execute(ENTRIES)
        db.execute(MEMBERS)
        db.execute(FILES)
        db.commit()
        return db

    def load(self, *keys: str) -> list[Any]:
        """The pickled values saved under ``keys`` (None for a key never saved)."""
        with guarded():
            values = []
            for key in keys:
                row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
                values.append(None if row is None else pickle.loads(unseal(bytes(row[0]))))
            return values

    def scanned(self) -> bytes:
        """The :func:`scan_digest` of the last build's record files (empty when unknown)."""
        with guarded():
            row = self.db.execute("SELECT value FROM meta WHERE key = 'scanned'").fetchone()
        return b"" if row is None else bytes(row[0])

    def report(self) -> Report | None:
        (report,) = self.load("report")
        return report if isinstance(report, Report) else None

    def quick_state(self) -> State:
        """The file stats and the report only: enough to see that nothing changed."""
        stats, report = self.load("stats", "report")
        if isinstance(stats, dict) and isinstance(report, Report):
            return State(stats=stats, report=report)
        return State()

    def full_state(self, quick: State) -> State:
        files: dict[str, FileState] = {}
        with guarded():
            for shard, value in self.db.execute("SELECT shard, value FROM files"):
                part = pickle.loads(unseal(value))
                self.shards[shard] = set(part)
                files.update(part)
        if files.keys() == quick.stats.keys():
            return State(stats=quick.stats, files=files, report=quick.report)
        self.shards = {}
        return State()

    def retitled(self, settings: Settings) -> set[str]:
        """Slugs of the custom feeds whose title is not the one the last build gave them."""
        (titles,) = self.load("titles")
        if not isinstance(titles, dict):
            return {feed.slug for feed in settings.custom_feeds}
        return {feed.slug for feed in settings.custom_feeds if titles.get(feed.slug) != feed.title}

    def catalog(self) -> dict[Any, Any] | None:
        """Every feed's subscription document as the last build planned it (``replan.py``);
        None when that build did not finish."""
        (catalog,) = self.load("catalog")
        return catalog if isinstance(catalog, dict) and catalog else None

    def members(self, slots: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Any]:
        """The members of the feeds ``slots`` (empty for a feed that has no row)."""
        found: dict[tuple[str, str], Any] = {}
        with guarded():
            for slot in slots:
                query = "SELECT value FROM members WHERE grouping = ? AND key = ?"
                row = self.db.execute(query, slot).fetchone()
                if row is None:
                    found[slot] = ([], Counter())
                else:
                    listed, spellings = marshal.loads(unseal(row[0]))
                    found[slot] = (listed, Counter(spellings))
        return found

    def put_members(
        self, members: Iterable[tuple[tuple[str, str], Any]], *, every: bool = False
    ) -> None:
        """Keep the members of these feeds (with ``every``, of these feeds only)."""
        # marshal: plain lists of tuples of str and int, written ten times faster than pickle.
        rows = (
            (grouping, key, seal(marshal.dumps((listed, dict(spellings)))))
            for (grouping, key), (listed, spellings) in members
        )
        with guarded():
            if every:
                self.db.execute("DELETE FROM members")
            self.db.executemany("INSERT OR REPLACE INTO members VALUES (?, ?, ?)", rows)

    def fragments(self, paths: list[str]) -> dict[str, bytes]:
        """The rendered entries of the record files at ``paths`` (those the cache has)."""
        found: dict[str, bytes] = {}
        with guarded():
            for start in range(0, len(paths), 500):  # SQLite limits the parameters of a query
                chunk = paths[start : start + 500]
                marks = ",".join("?" * len(chunk))
                query = f"SELECT path, fragments FROM entries WHERE path IN ({marks})"
                found.update((p, unseal(bytes(data))) for p, data in self.db.execute(query, chunk))
        return found

    def put_entries(self, rows: Iterable[tuple[str, bytes]]) -> None:
        sealed = ((path, seal(fragments)) for path, fragments in rows)
        with guarded():
            self.db.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?)", sealed)

    def drop_entries(self, paths: Iterable[str]) -> None:
        with guarded():
            self.db.executemany("DELETE FROM entries WHERE path = ?", ((p,) for p in paths))

    def save(
        self,
        state: State,
        *,
        only_report: bool = False,
        catalog: Mapping[Any, Any] | None,
        changed: Iterable[str] | None = None,
    ) -> None:
        """Record ``state`` (with ``only_report``, its report: the files were saved before)
        and the build's catalog (None until its documents are written: a build that stops
        before then leaves none, and the next one plans every feed). ``changed`` names the
        only files whose state changed since :meth:`full_state` loaded them."""
        saved: dict[str, Any] = {"report": state.report, "catalog": catalog}
        if catalog is not None:
            saved["titles"] = {feed.slug: feed.title for feed in self.settings.custom_feeds}
        if not only_report:
            saved |= {"stats": state.stats}
            self._save_files(state.files, changed)
        with guarded():
            for key, value in saved.items():
                blob = seal(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
                self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, blob))
            if not only_report:
                # Saved with the stats it stands for, in the same transaction.
                row = ("scanned", state.scanned if state.stats else b"")
                self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", row)
            self.db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('fingerprint', ?)", (self.fingerprint,)
            )
            self.db.commit()
            (free,) = self.db.execute("PRAGMA freelist_count").fetchone()
            (pages,) = self.db.execute("PRAGMA page_count").fetchone()
            if free > pages // 8:
                # executescript: steps the statement until done (execute frees one page).
                self.db.executescript("PRAGMA incremental_vacuum;")

    def _save_files(self, files: Mapping[str, FileState], changed: Iterable[str] | None) -> None:
        shards: dict[int, set[str]] = {}
        if changed is None or not self.shards:
            for rel in files:
                shards.setdefault(shard_of(rel), set()).add(rel)
        else:
            for rel in changed:
                shards.setdefault(shard_of(rel), set()).add(rel)
            for shard, rels in shards.items():
                rels |= self.shards.get(shard, set())
        rows = [
            (shard, seal(pickle.dumps({rel: files[rel] for rel in sorted(rels) if rel in files})))
            for shard, rels in shards.items()
        ]
        with guarded():
            if changed is None or not self.shards:
                self.db.execute("DELETE FROM files")
            self.db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?)", rows)
        self.shards |= {
            shard: {rel for rel in rels if rel in files} for shard, rels in shards.items()
        }

    def reopen(self) -> None:
        """A connection of this process's own (after a fork, the parent's must not be used)."""
        with guarded():
            self.db = sqlite3.connect(self.path)

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.db.close()


def shard_of(rel: str) -> int:
    return zlib.crc32(rel.encode("utf-8", "surrogateescape")) % SHARDS


def discard(folder: Path) -> None:
    """Remove the build cache in ``folder`` (only if feeds made it); quietly, as far as it can."""
    if is_cache(folder):
        shutil.rmtree(folder, ignore_errors=True)


def open_cache(settings: Settings) -> tuple[Cache | None, str | None]:
    """The cache for ``settings``, or None and why not (a build then goes without one)."""
    try:
        return Cache(settings.cache_file, settings), None
    except (OSError, CacheError) as e:
        return None, unusable(settings.cache_file, e)


def unusable(folder: Path, error: Exception) -> str:
    """The one warning line of a cache that could not be used."""
    return f"build cache {folder}/ cannot be used ({error}); building without it"
