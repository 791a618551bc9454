"""The whole pipeline for one settings object: records -> entries -> feeds -> documents.

Reading, parsing and mapping run on every core (processes); grouping streams, keeping only
each feed's newest entries; documents are rendered one at a time for the writer. Nothing here
prints or writes.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from feeds.errors import FeedsError, Problem, RecordError
from feeds.grouping import Accumulator
from feeds.mapping import map_record
from feeds.model import Entry, Feed
from feeds.records import find_records, read_record
from feeds.rendering import render_all
from feeds.settings import Settings

# Below this many files a process pool costs more than it saves.
PARALLEL_MIN = 1500
CHUNK = 200


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one record file."""

    path: str
    entry: Entry | None = None
    draft: bool = False
    error: RecordError | None = None
    warnings: tuple[Problem, ...] = ()


@dataclass(frozen=True, slots=True)
class Build:
    """The feeds of one build, before rendering, and what happened to every record."""

    settings: Settings
    feeds: tuple[Feed, ...]
    records: int
    published: int
    drafts: int
    duplicates: int
    rejected: tuple[RecordError, ...]
    warnings: tuple[Problem, ...]

    def documents(self) -> Iterator[tuple[str, bytes]]:
        """Every output file and its path, rendered one at a time, feeds before the index."""
        return render_all(self.feeds, self.settings)


@dataclass(frozen=True, slots=True)
class BuildResult:
    """A build with every document in memory (what the app serves)."""

    files: dict[str, bytes]
    feeds: tuple[Feed, ...]
    records: int
    published: int
    drafts: int
    duplicates: int
    rejected: tuple[RecordError, ...]
    warnings: tuple[Problem, ...] = field(default=())


Progress = Callable[[Outcome], None]


def process(path: Path, shown: str, settings: Settings) -> Outcome:
    """Read, parse and map one record file; never raises for a bad record."""
    try:
        record = read_record(path, shown, settings.zone)
        if record is None:
            return Outcome(shown, draft=True)
        entry, problems = map_record(record, settings)
    except RecordError as e:
        return Outcome(shown, error=e)
    except Exception as e:  # one record must never stop the others
        return Outcome(
            shown, error=RecordError(shown, "(record)", f"unexpected {type(e).__name__}: {e}")
        )
    return Outcome(shown, entry=entry, warnings=tuple(problems))


def _process_chunk(chunk: Sequence[tuple[Path, str]], settings: Settings) -> list[Outcome]:
    return [process(path, shown, settings) for path, shown in chunk]


def outcomes(
    settings: Settings, paths: Sequence[Path], workers: int | None = None
) -> Iterator[Outcome]:
    """The outcome of every file, in path order, computed on ``workers`` processes."""
    items = [(path, display(path)) for path in paths]
    workers = workers or available_cores()
    if workers <= 1 or len(items) < PARALLEL_MIN:
        for path, shown in items:
            yield process(path, shown, settings)
        return
    chunks = [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)]
    # forkserver: the app builds from a thread of a running server, where fork is unsafe.
    with ProcessPoolExecutor(workers, mp_context=get_context("forkserver")) as pool:
        pending: deque[Future[list[Outcome]]] = deque()
        for chunk in chunks:
            pending.append(pool.submit(_process_chunk, chunk, settings))
            if len(pending) >= workers * 4:  # bounded read-ahead keeps memory flat
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def run(
    settings: Settings, *, progress: Progress | None = None, workers: int | None = None
) -> Build:
    """Read every record and group the entries into feeds (documents are rendered lazily)."""
    if not settings.records.is_dir():
        raise FeedsError(f"records folder not found: {display(settings.records)}")
    paths = find_records(settings.records)

    def reload(shown: str) -> Entry | None:
        return process(Path(shown), shown, settings).entry

    accumulator = Accumulator(settings, reload)
    rejected: list[RecordError] = []
    warnings: list[Problem] = []
    drafts = 0
    for outcome in outcomes(settings, paths, workers):
        if outcome.entry is not None:
            accumulator.add(outcome.entry)
        elif outcome.error is not None:
            rejected.append(outcome.error)
        elif outcome.draft:
            drafts += 1
        warnings.extend(outcome.warnings)
        if progress is not None:
            progress(outcome)
    grouped = accumulator.finish()
    return Build(
        settings=settings,
        feeds=tuple(grouped.feeds),
        records=len(paths),
        published=grouped.published,
        drafts=drafts,
        duplicates=len(grouped.duplicates),
        rejected=tuple(rejected),
        warnings=tuple(warnings + grouped.duplicates),
    )


def build(settings: Settings, *, workers: int | None = None) -> BuildResult:
    """A build with all its documents in memory."""
    result = run(settings, workers=workers)
    return BuildResult(
        files=dict(result.documents()),
        feeds=result.feeds,
        records=result.records,
        published=result.published,
        drafts=result.drafts,
        duplicates=result.duplicates,
        rejected=result.rejected,
        warnings=result.warnings,
    )


def display(path: Path) -> str:
    """``path`` relative to the current folder when it is inside it, for shorter messages."""
    try:
        inside = path.is_absolute() and path.is_relative_to(Path.cwd())
        return os.path.relpath(path) if inside else str(path)
    except (ValueError, OSError):
        return str(path)
