"""The whole pipeline for one settings object: records -> entries -> feeds -> documents.

Reading, parsing and mapping run on every core (processes). Grouping streams, keeping only
each feed's newest entries (as pickled blobs, smaller than objects). Documents are rendered one at
a time for the writer. With a cache, files whose size and mtime did not change are not read
again, and feeds whose entries did not change are not rendered again. Nothing here prints.
"""

from __future__ import annotations

import os
import pickle
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Protocol

from feeds.cache import Cache, FileState, State
from feeds.errors import FeedsError, Problem, RecordError
from feeds.grouping import Accumulator, FeedPlan, Grouped, Summary, freeze, summarize
from feeds.mapping import map_record
from feeds.model import Entry, Feed
from feeds.records import find_records, read_record
from feeds.rendering import SITE_DOCUMENTS, render_all
from feeds.rendering.links import feed_path
from feeds.settings import Settings

# Below this many files a process pool costs more than it saves.
PARALLEL_MIN = 1500
CHUNK = 200


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one record file: a pickled entry and its summary, a draft, or an error."""

    rel: str
    size: int
    mtime_ns: int
    summary: Summary | None = None
    blob: bytes | None = None
    draft: bool = False
    error: RecordError | None = None
    warnings: tuple[Problem, ...] = ()


def process(path: Path, rel: str, settings: Settings) -> Outcome:
    """Read, parse and map one record file; never raises for a bad record."""
    shown = display(path)
    try:
        stat = path.stat()
        size, mtime = stat.st_size, stat.st_mtime_ns
    except OSError:
        size = mtime = -1
    try:
        record = read_record(path, shown, settings.zone)
        if record is None:
            return Outcome(rel, size, mtime, draft=True)
        entry, problems = map_record(record, settings)
    except RecordError as e:
        return Outcome(rel, size, mtime, error=e)
    except Exception as e:  # one record must never stop the others
        error = RecordError(shown, "(record)", f"unexpected {type(e).__name__}: {e}")
        return Outcome(rel, size, mtime, error=error)
    blob = freeze(entry)
    summary = summarize(entry, blob, source=rel)
    return Outcome(rel, size, mtime, summary, blob, warnings=tuple(problems))


def _process_chunk(chunk: Sequence[str], folder: Path, settings: Settings) -> list[Outcome]:
    return [process(folder / rel, rel, settings) for rel in chunk]


def outcomes(
    settings: Settings, rels: Sequence[str], workers: int | None = None
) -> Iterator[Outcome]:
    """The outcome of every file (paths relative to the records folder), in order."""
    folder = settings.records
    workers = workers or available_cores()
    if workers <= 1 or len(rels) < PARALLEL_MIN:
        for rel in rels:
            yield process(folder / rel, rel, settings)
        return
    chunks = [rels[i : i + CHUNK] for i in range(0, len(rels), CHUNK)]
    # forkserver: the app builds from a thread of a running server, where fork is unsafe.
    with ProcessPoolExecutor(workers, mp_context=get_context("forkserver")) as pool:
        pending: deque[Future[list[Outcome]]] = deque()
        for chunk in chunks:
            pending.append(pool.submit(_process_chunk, chunk, folder, settings))
            if len(pending) >= workers * 4:  # bounded read-ahead keeps memory flat
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class Progress(Protocol):
    def reading(self, total: int) -> None: ...
    def read(self, rejected: bool) -> None: ...


@dataclass(slots=True)
class Build:
    """One build: the feeds (as plans), what happened to every record, and how to render."""

    settings: Settings
    plans: tuple[FeedPlan, ...]
    records: int
    published: int
    drafts: int
    duplicates: int
    rejected: tuple[RecordError, ...]
    warnings: tuple[Problem, ...]
    grouped: Grouped | None
    dirty: frozenset[str] | None = None
    """Paths of the feeds to render; None renders all of them."""
    cache: Cache | None = None
    state: State | None = None
    changed: int = 0
    feed_count: int = 0

    @property
    def feeds(self) -> list[Feed]:
        return self.grouped.feeds if self.grouped is not None else []

    def expected(self) -> set[str]:
        """Every file this build's output folder holds."""
        if self.grouped is None and self.state is not None:  # nothing changed
            return set(self.state.outputs)
        paths = {feed_path(plan, fmt) for plan in self.plans for fmt in self.settings.formats}
        return paths | set(SITE_DOCUMENTS)

    def documents(self) -> Iterator[tuple[str, bytes]]:
        """The files to write, rendered one at a time, feeds before the index and OPML."""
        if self.grouped is None:
            return iter(())
        return render_all(
            self.plans, self.settings, self.grouped.accumulator.materialize, self.dirty
        )

    def commit(self, outputs: dict[str, tuple[int, int]]) -> None:
        """Remember this build in the cache, once its files are written."""
        if self.cache is None or self.state is None:
            return
        self.state.signatures = {plan.path: plan.signature() for plan in self.plans}
        self.state.outputs = outputs
        self.cache.save(self.state)
        self.cache.close()


def run(
    settings: Settings,
    *,
    progress: Progress | None = None,
    workers: int | None = None,
    cache: Cache | None = None,
) -> Build:
    """Read the records (only the changed ones, with a cache) and group them into feeds."""
    if not settings.records.is_dir():
        raise FeedsError(f"records folder not found: {display(settings.records)}")
    folder = settings.records
    rels = [p.relative_to(folder).as_posix() for p in find_records(folder)]
    state = cache.state() if cache is not None else State()
    stats = {rel: _stat(folder / rel) for rel in rels} if cache is not None else {}
    changed = [rel for rel in rels if _moved(state.files.get(rel), stats.get(rel))]
    removed = state.files.keys() - set(rels)
    if cache is not None and not changed and not removed and _outputs_intact(settings, state):
        return _unchanged(settings, rels, state, cache)

    fresh: dict[str, FileState] = {}
    blobs: list[tuple[str, bytes]] = []

    def fetch(rel: str) -> Entry | None:
        blob = cache.entry_blob(rel) if cache is not None else None
        if blob is None:
            blob = process(folder / rel, rel, settings).blob
        return None if blob is None else pickle.loads(blob)

    accumulator = Accumulator(settings, fetch, lambda rel: display(folder / rel))
    if progress is not None:
        progress.reading(len(changed))
    for outcome in outcomes(settings, changed, workers):
        fresh[outcome.rel] = _state_of(outcome)
        if outcome.summary is not None:
            accumulator.add_summary(outcome.summary, outcome.blob)
        if outcome.blob is not None and cache is not None:
            blobs.append((outcome.rel, outcome.blob))
            if len(blobs) >= 2000:
                cache.put_entries(blobs)
                blobs.clear()
        if progress is not None:
            progress.read(outcome.error is not None)
    if cache is not None:
        cache.put_entries(blobs)
        cache.drop_entries(removed)

    rejected: list[RecordError] = []
    warnings: list[Problem] = []
    drafts = 0
    files: dict[str, FileState] = {}
    for rel in rels:
        known = files[rel] = fresh.get(rel) or state.files[rel]
        if known.summary is not None:
            if rel not in fresh:
                accumulator.add_summary(_summary(known, rel))
        elif known.error is not None:
            rejected.append(RecordError(display(folder / rel), *known.error))
        elif known.draft:
            drafts += 1
        if known.warnings:
            shown = display(folder / rel)
            warnings.extend(Problem(shown, f, reason) for f, reason in known.warnings)
    grouped = accumulator.finish()
    state.files = files
    state.duplicates = [(p.path, p.reason) for p in grouped.duplicates]
    dirty = None
    if cache is not None:
        damaged = _damaged_outputs(settings, state)
        dirty = frozenset(
            plan.path
            for plan in grouped.plans
            if state.signatures.get(plan.path) != plan.signature() or plan.path in damaged
        )
    return Build(
        settings=settings,
        plans=tuple(grouped.plans),
        records=len(rels),
        published=grouped.published,
        drafts=drafts,
        duplicates=len(grouped.duplicates),
        rejected=tuple(rejected),
        warnings=tuple(warnings + grouped.duplicates),
        grouped=grouped,
        dirty=dirty,
        cache=cache,
        state=state,
        changed=len(changed) + len(removed),
        feed_count=len(grouped.plans),
    )


def _state_of(outcome: Outcome) -> FileState:
    summary = None
    if outcome.summary is not None:
        s = outcome.summary
        summary = (s.id, s.published, s.digest, s.keys)
    error = (outcome.error.field, outcome.error.reason) if outcome.error is not None else None
    return FileState(
        size=outcome.size,
        mtime_ns=outcome.mtime_ns,
        summary=summary,
        draft=outcome.draft,
        error=error,
        warnings=tuple((w.field, w.reason) for w in outcome.warnings),
    )


def _summary(known: FileState, rel: str) -> Summary:
    assert known.summary is not None
    article, published, digest, keys = known.summary
    return Summary(article, published, digest, rel, keys)


def _stat(path: Path) -> tuple[int, int]:
    try:
        stat = path.stat()
    except OSError:
        return (-1, -1)
    return (stat.st_size, stat.st_mtime_ns)


def _moved(known: FileState | None, stat: tuple[int, int] | None) -> bool:
    return known is None or stat is None or (known.size, known.mtime_ns) != stat


def _damaged_outputs(settings: Settings, state: State) -> set[str]:
    """Feed paths (without extension) whose output files are not as the last build left them."""
    damaged = set()
    for path, recorded in state.outputs.items():
        if _stat(settings.output / path) != recorded:
            damaged.add(path.rsplit(".", 1)[0])
    return damaged


def _outputs_intact(settings: Settings, state: State) -> bool:
    return bool(state.outputs) and not _damaged_outputs(settings, state)


def _unchanged(settings: Settings, rels: list[str], state: State, cache: Cache) -> Build:
    """Nothing changed since the last build: report it again, render nothing."""
    rejected: list[RecordError] = []
    warnings: list[Problem] = []
    drafts = 0
    for rel in rels:
        known = state.files[rel]
        drafts += known.draft
        if known.error is not None or known.warnings:
            shown = display(settings.records / rel)
            if known.error is not None:
                rejected.append(RecordError(shown, *known.error))
            warnings.extend(Problem(shown, f, reason) for f, reason in known.warnings)
    warnings.extend(Problem(path, "webUrl", reason) for path, reason in state.duplicates)
    articles = {known.summary[0] for known in state.files.values() if known.summary is not None}
    published = len(articles)
    with_entries = sum(1 for known in state.files.values() if known.summary is not None)
    cache.close()
    return Build(
        settings=settings,
        plans=(),
        records=len(rels),
        published=published,
        drafts=drafts,
        duplicates=with_entries - published,
        rejected=tuple(rejected),
        warnings=tuple(warnings),
        grouped=None,
        cache=None,
        state=state,
        feed_count=len(state.signatures),
    )


def build(settings: Settings, *, workers: int | None = None) -> BuildResult:
    """A build with all its documents in memory (what the app serves)."""
    result = run(settings, workers=workers)
    return BuildResult(
        files=dict(result.documents()),
        feeds=tuple(result.feeds),
        records=result.records,
        published=result.published,
        drafts=result.drafts,
        duplicates=result.duplicates,
        rejected=result.rejected,
        warnings=result.warnings,
    )


@dataclass(frozen=True, slots=True)
class BuildResult:
    """A build with every document in memory."""

    files: dict[str, bytes]
    feeds: tuple[Feed, ...]
    records: int
    published: int
    drafts: int
    duplicates: int
    rejected: tuple[RecordError, ...]
    warnings: tuple[Problem, ...] = field(default=())


def display(path: Path) -> str:
    """``path`` relative to the current folder when it is inside it, for shorter messages."""
    try:
        inside = path.is_absolute() and path.is_relative_to(Path.cwd())
        return os.path.relpath(path) if inside else str(path)
    except (ValueError, OSError):
        return str(path)
