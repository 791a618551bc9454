"""The build process of ``feeds serve``: one rebuild in a child process of its own, at a lower
CPU priority, with the same engine and build cache as ``feeds build``.

Why a process: a build holds the GIL for most of its length, so a build in the serving process
(even in a thread) stalls every request behind it. A child at ``nice`` :data:`NICE` never
competes for the GIL and loses the cores to the serving process whenever both want them. A
spare child is started ahead (imports done, blocked on its stdin), so a rebuild does not wait
for Python to start. The server sends it one pickled :class:`Request` on stdin; it builds,
writes, hashes, and answers one pickled :class:`Reply` on stdout, then exits (its memory goes
with it). A child that dies or is killed answers nothing: the server reports a failed rebuild
and keeps serving the last good set, whose files the child never touched.

What it builds into (the *served folder*, ``<cache>.serving/`` beside the build cache):

    blobs/<digest>        every document served, by the first 128 bits of its SHA-256: a hard
                          link of the output file the writer put in place. The writer replaces
                          files by renaming, so a blob keeps its bytes after a later build
                          replaced the output file.
    blobs/<digest>.gz     its gzip body: made here for every written document that is not an
                          archive page, else by the app on the first request that asks for it
    index.pickle          path -> :class:`Served` of every document, the output files' stats
                          when hashed, blobs retired and when
    output/, cache/       without ``--write``: the output folder and build cache of its own

With ``--write`` the output folder is the one of the settings and the cache the shared one: the
cache records the state of one output folder, so it is shared exactly when the folder is.
Without it, the server keeps an output folder and cache of its own: a shared cache would believe
its folder written while the server wrote another one, and writing ``output/`` uninvited would
race ``feeds build`` from cron for the output folder's lock. Either way a restart is a warm
build: only what changed is read, rendered, written and hashed.

Only the files the writer reports written are read and hashed; others keep their digest as long
as their stats (inode, size, mtime) are the ones recorded, which also catches another process
(``feeds build`` into the shared folder) replacing them. Last-Modified is decided here too, from
the history of what was served (``history.py``): so the serving process receives only the
documents that changed, ready to serve.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import signal
import sys
import time
import traceback
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from feeds.build import Build, Built, run
from feeds.cache import discard, open_cache, unusable
from feeds.errors import CacheError, FeedsError, warning_lines
from feeds.layout import (
    cache_control,
    feed_path,
    is_archive_page,
    is_subscription_document,
    sealed_pages,
)
from feeds.publish.websub import link_header
from feeds.rendering import FORMATS
from feeds.serve.history import load_history, remove_leftovers, save_history
from feeds.serve.http import History, gzip_body, last_modified, whole_seconds
from feeds.settings import Settings
from feeds.writing import WriteReport, atomic_write

NICE = 10
"""How much lower than the server the build runs: nice 10 weighs a ninth of nice 0."""
INDEX = "index.pickle"
BLOBS = "blobs"
INDEX_VERSION = 3
GRACE_SECONDS = 60.0
"""How long a blob no build uses any more stays: a worker of ``--workers`` may still read it."""
TRACE_FRAMES = 8
EPOCH = datetime.fromtimestamp(0, UTC)
Stat = tuple[int, int, int]
"""(inode, size, mtime in ns) of an output file when it was hashed."""
Row = tuple[str, int, int, str, str | None, int | None]
"""A :class:`Served` as the index keeps it, Last-Modified in POSIX seconds: plain tuples load
several times faster than dataclasses, and the index is loaded by every build."""


@dataclass(frozen=True, slots=True)
class Served:
    """What the server needs of one document besides its bytes, which stay in the blob."""

    digest: str
    size: int
    last_modified: datetime
    cache_control: str
    link: str | None
    gzip_size: int | None
    """The size of ``blobs/<digest>.gz`` when it was made; None: not made (yet, or too small)."""


@dataclass(frozen=True, slots=True)
class Request:
    settings: Settings
    folder: Path
    """The served folder (see the module's docstring)."""
    history: Path
    write: bool = False
    generation: int = 0
    """The generation the server serves (0: none); any other in the index means the server
    missed a reply, and gets every document."""
    first: bool = False
    """The server serves nothing yet: Last-Modified of paths never served comes from the
    existing output file or the newest entry, not from now."""
    memory_history: History | None = None
    """The history the server keeps in memory when saving it failed."""


@dataclass(frozen=True, slots=True)
class Reply:
    generation: int = 0
    full: bool = False
    documents: dict[str, Served] = field(default_factory=dict)
    """The documents that changed, or every document when ``full``."""
    removed: tuple[str, ...] = ()
    stats: dict[str, int] = field(default_factory=dict)
    built_at: datetime = EPOCH
    read: int = 0
    """Record files read again (or removed) since the last build: 0 for a warm start."""
    written: int = 0
    """Output files the build wrote (and so hashed)."""
    seconds: tuple[float, float] = (0.0, 0.0)
    """How long the build took (read, render, write, the cache), then the hashing and the rest."""
    rejected: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    """Problems the server logs as warnings (a cache or a history that could not be used)."""
    history: History | None = None
    """The new history, when it could not be saved: the server keeps it in memory."""
    error: str | None = None
    """Why the build failed (then nothing else is set); ``trace`` for a bug."""
    trace: str = ""


def folders(request: Request) -> Settings:
    """The settings the build runs with: the output folder and cache it writes."""
    if request.write:
        return request.settings
    return replace(
        request.settings, output=request.folder / "output", cache=request.folder / "cache"
    )


def build(request: Request) -> Reply:
    """One rebuild, whatever it raises turned into a reply."""
    stage = "build"
    try:
        begun = time.perf_counter()
        settings = folders(request)
        result, report, notes = _write(settings)
        stage = "serve"
        built = time.perf_counter()
        reply = _serve(request, settings, result, report, notes)
        return replace(reply, seconds=(built - begun, time.perf_counter() - built))
    except Exception as e:
        error = str(e) if isinstance(e, FeedsError | OSError) else f"{type(e).__name__}: {e}"
        trace = ""
        if not isinstance(e, FeedsError | OSError):
            error = f"{stage}: {error}"
            trace = "".join(traceback.format_exception(e, limit=-TRACE_FRAMES))
        return Reply(error=error, trace=trace)


def _write(settings: Settings) -> tuple[Build, WriteReport, list[str]]:
    """Build and write with the cache, as ``feeds build`` does: a cache that fails half-way is
    dropped and the build runs again without it (nothing of the output changed yet)."""
    notes = []
    cache, problem = open_cache(settings)
    if problem:
        notes.append(problem)
    while True:
        try:
            result = run(settings, cache=cache)
            report = result.write(settings.output)
            break
        except CacheError as e:
            if cache is None:
                raise
            cache.close()
            cache = None
            notes.append(unusable(settings.cache_file, e))
            discard(settings.cache_file)
    try:
        result.commit(settings.output)
    except CacheError as e:  # written; only the next build's speed is at stake
        notes.append(unusable(settings.cache_file, e))
        discard(settings.cache_file)
    return result, report, notes


@dataclass(slots=True)
class Index:
    generation: int = 0
    documents: dict[str, Row] = field(default_factory=dict)
    stats: dict[str, Stat] = field(default_factory=dict)
    retired: dict[str, tuple[int, float]] = field(default_factory=dict)
    """Digests no longer served -> (the first generation without them, when)."""
    inputs: tuple[Any, ...] = ()
    """The settings the headers were made with (ttl, hubs, base URL)."""


def load_index(folder: Path) -> Index:
    """The index of the served folder; an empty one when missing or damaged (every document
    is then hashed again, nothing worse)."""
    with contextlib.suppress(Exception):
        version, *fields = pickle.loads((folder / INDEX).read_bytes())
        if version == INDEX_VERSION:
            return Index(*fields)
    return Index()


def save_index(folder: Path, index: Index) -> None:
    data = (
        INDEX_VERSION,
        index.generation,
        index.documents,
        index.stats,
        index.retired,
        index.inputs,
    )
    atomic_write(folder / INDEX, pickle.dumps(data, protocol=5))


def _serve(
    request: Request, settings: Settings, result: Build, report: WriteReport, notes: list[str]
) -> Reply:
    """Hash what was written into blobs, decide headers and Last-Modified, save the index (and
    the history when paths left it), and tell the server what changed.

    A document that was not written and whose file has the stats recorded keeps its row as it
    is, unless the headers' inputs changed (the settings, or which archive pages are sealed:
    only when paths came or went). Its Last-Modified comes from the index while it is served,
    from the history once it was served before, at a first start from :func:`_first_seen`."""
    folder, output = request.folder, settings.output
    blobs = folder / BLOBS
    blobs.mkdir(parents=True, exist_ok=True)
    index = load_index(folder)
    full = request.generation != index.generation or request.first
    history = _History(request, notes)
    expected = sorted(result.expected())
    written = set(report.written)
    inputs = (settings.ttl_minutes, settings.hubs, settings.base_url)
    same = not full and index.inputs == inputs and index.documents.keys() == set(expected)
    sealed = set() if same else sealed_pages(expected)
    first_seen = _first_seen(request, settings, result, written) if request.first else None
    now = whole_seconds(datetime.now(UTC))
    documents: dict[str, Row] = {}
    stats: dict[str, Stat] = {}
    changed: dict[str, Served] = {}
    base = str(output)
    for path in expected:
        status = os.stat(os.path.join(base, path))
        stat = (status.st_ino, status.st_size, status.st_mtime_ns)
        stats[path] = stat
        old = index.documents.get(path)
        if (
            old is not None
            and path not in written
            and index.stats.get(path) == stat
            and (not full or (blobs / old[0]).exists())  # at startup: not removed since
        ):
            if same:
                documents[path] = old
                continue
            digest, size, packed = old[0], old[1], old[5]
        else:
            if old is not None and index.stats.get(path, stat)[0] == stat[0]:
                # Changed in place (not by our writer, which renames): the blob is that inode.
                (blobs / old[0]).unlink(missing_ok=True)
                (blobs / f"{old[0]}.gz").unlink(missing_ok=True)
            digest, size, packed = _store(base, path, blobs)
        if old is not None and old[0] == digest:
            seconds = old[2]
        else:
            served = history.get(path) if old is None else (old[0], _time(old[2]))
            fresh = now
            if first_seen is not None and served is None:
                fresh = first_seen(path, digest, size)
            seconds = int(last_modified(digest, served, fresh).timestamp())
        if same:
            assert old is not None
            policy, link = old[3], old[4]
        else:
            policy = cache_control(settings.ttl_minutes * 60, immutable=path in sealed)
            link = None
            if settings.hubs and is_subscription_document(path):
                link = link_header(settings.hubs, settings.base_url + path)
        row = (digest, size, seconds, policy, link, packed)
        documents[path] = row
        if full or row != old:
            changed[path] = Served(digest, size, _time(seconds), policy, link, packed)
    gone = index.documents.keys() - documents.keys()
    kept = history.save({path: index.documents[path] for path in gone}, documents if full else {})
    if changed or gone or index.generation == 0 or index.inputs != inputs:
        index.generation += 1
        _retire(index, documents, blobs, request.generation)
        index.documents, index.stats, index.inputs = documents, stats, inputs
        save_index(folder, index)
    elif index.stats != stats:
        index.stats = stats
        save_index(folder, index)
    return Reply(
        generation=index.generation,
        full=full,
        documents=changed,
        removed=tuple(sorted(gone)),
        stats=_stats(result, len(documents)),
        built_at=datetime.now(UTC),
        read=result.changed,
        written=len(written),
        rejected=tuple(str(error) for error in result.rejected),
        warnings=tuple(warning_lines(result.warnings, "check")),
        notes=tuple(notes),
        history=kept,
    )


def _time(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class _History:
    """The history of paths served (``history.py``), read only when a build needs it: at a
    first start, and for a path the index does not know (it may have been served before).
    The index holds the current paths, so the history is written only with the paths that
    left it, and whole at a first start."""

    def __init__(self, request: Request, notes: list[str]) -> None:
        self.file = request.history
        self.notes = notes
        self.memory = request.memory_history
        self.loaded: History | None = self.memory

    def load(self) -> History:
        if self.loaded is None:
            self.loaded, problem = load_history(self.file)
            remove_leftovers(self.file)
            if problem is not None:
                self.notes.append(
                    f"{self.file}: ignored, Last-Modified starts afresh: {problem} "
                    "(it is written anew)"
                )
        return self.loaded

    def get(self, path: str) -> tuple[str, datetime] | None:
        return self.load().get("/" + path)

    def save(self, gone: dict[str, Row], current: dict[str, Row]) -> History | None:
        """Add the rows of ``gone`` and ``current`` and write the history when that changes
        it; returns it when it could not be written (the server keeps it in memory)."""
        if not gone and not current:
            return self.memory
        history = self.load()
        merged = dict(history)
        for path, row in (*gone.items(), *current.items()):
            merged["/" + path] = (row[0], _time(row[2]))
        if merged == history and self.memory is None:
            return None
        try:
            save_history(self.file, merged)
        except OSError as e:
            self.notes.append(
                f"{self.file}: cannot save, Last-Modified is kept in memory only: {e}"
            )
            return merged
        return None


def _store(output: str, path: str, blobs: Path) -> tuple[str, int, int | None]:
    """Hash the output file of ``path`` and link it into the blobs by its digest; its gzip
    body beside it when people request it often (not an archive page). Returns (digest, size,
    gzip size)."""
    file = os.path.join(output, path)
    with open(file, "rb") as f:
        data = f.read()
    digest = hashlib.sha256(data).hexdigest()[:32]
    blob = blobs / digest
    if not blob.exists():
        try:
            os.link(file, blob)
        except OSError:  # another file system, or no hard links: a copy
            atomic_write(blob, data)
    packed = blobs / f"{digest}.gz"
    with contextlib.suppress(OSError):
        return digest, len(data), packed.stat().st_size
    body = None if is_archive_page(path) else gzip_body(data)
    if body is None:
        return digest, len(data), None
    atomic_write(packed, body)
    return digest, len(data), len(body)


def _retire(index: Index, documents: dict[str, Row], blobs: Path, serving: int) -> None:
    """Note the digests this generation no longer serves, and remove those that no generation
    the server may still serve has used for :data:`GRACE_SECONDS`."""
    live = {row[0] for row in documents.values()}
    now = time.time()
    for row in index.documents.values():
        if row[0] not in live and row[0] not in index.retired:
            index.retired[row[0]] = (index.generation, now)
    for digest in list(index.retired):
        since, when = index.retired[digest]
        if digest in live:
            del index.retired[digest]
        elif since <= serving and when < now - GRACE_SECONDS:
            (blobs / digest).unlink(missing_ok=True)
            (blobs / f"{digest}.gz").unlink(missing_ok=True)
            del index.retired[digest]


def _first_seen(request: Request, settings: Settings, result: Build, written: set[str]) -> Any:
    """Last-Modified of a path never served, at startup: the mtime of the file in the output
    folder of the settings if it held these bytes before this build, else the newest entry's
    date (the file's own mtime when the build planned nothing)."""
    newest: dict[str, datetime] = {}
    overall = None
    if isinstance(result, Built):
        for feed in result.plans:
            for fmt in FORMATS:
                newest[feed_path(feed, fmt)] = feed.updated
        overall = max((feed.updated for feed in result.plans), default=None)
    existing = request.settings.output
    own = existing.resolve() == settings.output.resolve()

    def first_seen(path: str, digest: str, size: int) -> datetime:
        file = existing / path
        with contextlib.suppress(OSError):
            same = file.stat().st_size == size and not (own and path in written)
            if same and hashlib.sha256(file.read_bytes()).hexdigest()[:32] == digest:
                return whole_seconds(datetime.fromtimestamp(file.stat().st_mtime, UTC))
        moment = newest.get(path)
        if moment is None and not is_archive_page(path):
            moment = overall
        if moment is None:  # not planned: an archive page an incremental build kept, or none
            moment = datetime.fromtimestamp((settings.output / path).stat().st_mtime, UTC)
        return whole_seconds(moment)

    return first_seen


def _stats(result: Build, documents: int) -> dict[str, int]:
    return {
        "records": result.records,
        "published": result.published,
        "unpublished": result.drafts,
        "duplicates": result.duplicates,
        "rejected": len(result.rejected),
        "feeds": result.feed_count,
        "documents": documents,
    }


def main() -> None:
    """The child (started at a lower priority, :data:`NICE`): wait for one request, build,
    answer, exit."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server stops it
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    data = sys.stdin.buffer.read()
    if not data:
        return  # the server no longer needs this spare
    reply = build(pickle.loads(data))
    sys.stdout.buffer.write(pickle.dumps(reply, protocol=5))
    sys.stdout.buffer.flush()
    # Everything is written (the output, the cache, the index); freeing a large build's objects
    # one by one would only delay the server, which waits for this process to end.
    sys.stderr.flush()
    os._exit(0)
