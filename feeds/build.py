"""The whole pipeline for one settings object: records -> entries -> feeds -> documents.

Reading, parsing and mapping run on every core (processes). Grouping streams, keeping only
each feed's newest entries (as pickled blobs, smaller than objects). Documents are rendered one at
a time for the writer. With a cache, files whose size and mtime did not change are not read
again, and feeds whose entries did not change are not rendered again. Nothing here prints.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Protocol

from feeds.cache import Cache, FileState, Report, State, guarded
from feeds.errors import FeedsError, Problem, RecordError
from feeds.grouping import Accumulator, FeedPlan, Grouped, Summary, freeze, summarize
from feeds.layout import feed_path, is_archive_page, sealed_pages
from feeds.mapping import map_record
from feeds.model import Entry, Feed
from feeds.records import Scan, read_record, scan_records
from feeds.rendering import Fragments, measure, render_all, render_entry, site_documents
from feeds.settings import Settings
from feeds.writing import OutputWriter, WriteReport, failure, interrupted, safe_path, stage

# Below this many files (feeds) a process pool costs more than it saves.
PARALLEL_MIN = 1500
PARALLEL_MIN_FEEDS = 60
CHUNK = 200
_WRITING: tuple[Build, Path, list[list[FeedPlan]]] | None = None


def _write_part(index: int) -> tuple[list[str], list[str]]:
    """In a forked child: render and stage one part of the feeds (the parent holds the lock
    and puts them in place)."""
    assert _WRITING is not None
    build, folder, parts = _WRITING
    if build.cache is not None:
        build.cache.reopen()
    written: list[str] = []
    unchanged: list[str] = []
    site = site_documents(build.settings)
    plans = parts[index]
    for path, data in render_all(plans, build.settings, build._load, fragments=build._fragments):
        if path not in site:
            try:
                staged = stage(safe_path(folder, path), data)
            except OSError as e:
                raise failure(e, folder) from None
            (written if staged else unchanged).append(path)
    return written, unchanged


def orphan_guard() -> None:
    """In a worker process: exit as soon as the process that started it is gone.

    A killed build must not leave workers behind holding memory and the cache open. Linux
    kills the worker itself (``PR_SET_PDEATHSIG``); elsewhere, and as a second line, a thread
    notices that the parent changed."""
    import signal

    parent = os.getppid()
    # Ctrl-C reaches the whole process group: the build stops its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # died before the request took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


@dataclass(frozen=True, slots=True)
class FileOutcome:
    """What became of one record file: a pickled entry and its summary, a draft, or an error."""

    rel: str
    summary: Summary | None = None
    blob: bytes | None = None
    fragments: bytes | None = None
    """The entry rendered in every format, pickled (see :meth:`Build._fragments`)."""
    draft: bool = False
    error: RecordError | None = None
    warnings: tuple[Problem, ...] = ()


def process(path: Path, rel: str, settings: Settings) -> FileOutcome:
    """Read, parse and map one record file; never raises for a bad record.

    Messages name the file by ``rel``; the build shows them with the path as the user gave it.
    """
    try:
        record = read_record(path, rel, settings.zone)
        if record is None:
            return FileOutcome(rel, draft=True)
        entry, problems = map_record(record, settings)
    except RecordError as e:
        return FileOutcome(rel, error=e)
    except Exception as e:  # one record must never stop the others
        error = RecordError(rel, "(record)", f"unexpected {type(e).__name__}: {e}")
        return FileOutcome(rel, error=error)
    blob = freeze(entry)
    # Rendered here, on every core, for the byte budget (its size) and so that documents
    # are put together from the cache without rendering any entry again.
    rendered = render_entry(entry, settings)
    summary = summarize(entry, blob, source=rel, size=measure(rendered), settings=settings)
    fragments = pickle.dumps(rendered, protocol=pickle.HIGHEST_PROTOCOL)
    return FileOutcome(rel, summary, blob, fragments, warnings=tuple(problems))


def _process_chunk(chunk: Sequence[str], folder: Path, settings: Settings) -> list[FileOutcome]:
    return [process(folder / rel, rel, settings) for rel in chunk]


def outcomes(
    settings: Settings, rels: Sequence[str], workers: int | None = None
) -> Iterator[FileOutcome]:
    """The outcome of every file (paths relative to the records folder), in order."""
    folder = settings.records
    workers = workers or available_cores()
    if workers <= 1 or len(rels) < PARALLEL_MIN:
        for rel in rels:
            yield process(folder / rel, rel, settings)
        return
    chunks = [rels[i : i + CHUNK] for i in range(0, len(rels), CHUNK)]
    # fork shares the imported program with the workers (less memory, faster start), but is
    # unsafe once other threads run (the app builds from a thread; a progress display has one).
    method = "fork" if threading.active_count() == 1 else "forkserver"
    context = get_context(method)
    with ProcessPoolExecutor(workers, mp_context=context, initializer=orphan_guard) as pool:
        pending: deque[Future[list[FileOutcome]]] = deque()
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
    signatures: dict[str, str] = field(default_factory=dict)
    """Every document's :meth:`FeedPlan.signature`, by path, when built with a cache."""
    state: State | None = None
    memory: dict[str, bytes] | None = None
    """Every entry's rendered fragments by record file, when built without a cache for memory."""
    changed: int = 0
    feed_count: int = 0
    """Subscription documents (feeds); their archive pages are counted in ``page_count``."""
    page_count: int = 0
    files_saved: bool = False
    files: dict[str, bytes] = field(default_factory=dict)
    """Every document, when :func:`build` rendered them in memory."""

    @property
    def feeds(self) -> list[Feed]:
        return self.grouped.feeds if self.grouped is not None else []

    def expected(self) -> set[str]:
        """Every file this build's output folder holds."""
        if self.grouped is None and self.state is not None:  # nothing changed
            return set(self.state.report.outputs)
        paths = {feed_path(plan, fmt) for plan in self.plans for fmt in self.settings.formats}
        return paths | set(site_documents(self.settings))

    def sealed(self) -> set[str]:
        """Paths of the archive pages that will never change again (a newer page exists)."""
        return sealed_pages(
            feed_path(plan, fmt) for plan in self.plans for fmt in self.settings.formats
        )

    def documents(self) -> Iterator[tuple[str, bytes]]:
        """The files to write, rendered one at a time, feeds before the index and OPML."""
        if self.grouped is None:
            return iter(())
        return render_all(
            self.plans,
            self.settings,
            self.grouped.accumulator.materialize,
            self.dirty,
            fragments=self._fragments,
        )

    def to_render(self) -> int:
        """How many documents :meth:`write` renders (the rest did not change)."""
        feeds = len(self.plans) if self.dirty is None else len(self.dirty)
        if self.grouped is None:
            return 0
        return feeds * len(self.settings.formats) + len(site_documents(self.settings))

    def write(
        self,
        folder: Path,
        *,
        workers: int | None = None,
        done: Callable[[int], None] | None = None,
    ) -> WriteReport:
        """Render and write the documents that changed, feeds on every core, then the index
        and OPML, then the manifest; ``done(n)`` is told as documents are written."""
        workers = workers or available_cores()
        plans = [p for p in self.plans if self.dirty is None or p.path in self.dirty]
        with OutputWriter(folder, self.expected()) as writer:
            if self.grouped is None:
                return writer.finish(self.expected())
            self._save_files()
            if workers > 1 and len(plans) >= PARALLEL_MIN_FEEDS:
                self._write_in_parallel(writer, plans, workers, done)
                documents = render_all(self.plans, self.settings, self._load, only=())
            else:
                documents = self.documents()
            for path, data in documents:
                writer.write(path, data)
                if done is not None:
                    done(1)
            return writer.finish(self.expected())

    def _load(self, plan: FeedPlan) -> Feed:
        assert self.grouped is not None
        return self.grouped.accumulator.materialize(plan)

    def _fragments(self, plan: FeedPlan) -> list[Fragments] | None:
        """The document's entries as rendered when their records were read, from the cache;
        None (render them) without a cache or when one is missing."""
        if self.grouped is None or (self.cache is None and self.memory is None):
            return None
        sources = self.grouped.accumulator.sources
        paths = [sources[serial] for _, _, serial in plan.items]
        found = self.cache.fragments(paths) if self.cache is not None else self.memory or {}
        if any(path not in found for path in paths):
            return None
        with guarded():
            return [pickle.loads(found[path]) for path in paths]

    def _write_in_parallel(
        self,
        writer: OutputWriter,
        plans: list[FeedPlan],
        workers: int,
        done: Callable[[int], None] | None,
    ) -> None:
        global _WRITING  # read by the forked children, which inherit this build in memory
        parts = [plans[i :: workers * 2] for i in range(workers * 2)]
        _WRITING = (self, writer.folder, parts)
        if self.cache is not None:
            self.cache.db.commit()  # the children read entries through their own connection
        try:
            context = get_context("fork")
            with ProcessPoolExecutor(workers, mp_context=context, initializer=orphan_guard) as pool:
                for n, (written, unchanged) in enumerate(pool.map(_write_part, range(len(parts)))):
                    writer.merge(written, unchanged)
                    if done is not None:
                        done(len(parts[n]) * len(self.settings.formats))
        finally:
            _WRITING = None

    def _save_files(self) -> None:
        """Save what is known of every record file, then let it go: the documents are rendered
        (in forked processes) without it. The feed signatures follow once they are written."""
        if self.cache is None or self.state is None or self.files_saved:
            return
        self.state.report.signatures = {}
        self.cache.save(self.state)
        self.state.stats, self.state.files = {}, {}
        self.files_saved = True

    def commit(self, outputs: dict[str, tuple[int, int]]) -> None:
        """Remember this build in the cache, once its files are written."""
        if self.cache is None or self.state is None:
            return
        self.state.report.signatures = self.signatures or {
            plan.path: plan.signature() for plan in self.plans
        }
        self.state.report.outputs = outputs
        self.cache.save(self.state, only_report=self.files_saved)
        self.cache.close()


def run(
    settings: Settings,
    *,
    progress: Progress | None = None,
    workers: int | None = None,
    cache: Cache | None = None,
    keep_fragments: bool = False,
) -> Build:
    """Read the records (only the changed ones, with a cache) and group them into feeds.

    ``keep_fragments`` keeps every entry's rendered fragments in memory when there is no cache
    to hold them, for a build that renders every document at once (the app's).
    """
    if not settings.records.is_dir():
        raise FeedsError(f"records folder not found: {display(settings.records)}")
    folder = settings.records
    scan = scan_records(folder)
    stats = {rel: (size, mtime) for rel, size, mtime in scan.files}
    rels = [rel for rel, _, _ in scan.files]
    state = cache.quick_state() if cache is not None else State()
    if cache is not None and stats == state.stats and _outputs_intact(settings, state.report):
        return _unchanged(settings, scan, cache)
    if cache is not None:
        state = cache.full_state(state)
    changed = [rel for rel in rels if state.stats.get(rel) != stats[rel] or rel not in state.files]
    removed = state.files.keys() - stats.keys()

    def fetch(rel: str) -> Entry | None:
        blob = cache.entry_blob(rel) if cache is not None else None
        if blob is None:
            blob = process(folder / rel, rel, settings).blob
        if blob is None:
            return None
        with guarded():
            entry: Entry = pickle.loads(blob)
        return entry

    # Without a cache to load them from (or their fragments kept), archive pages would read
    # and parse their records again, once per page holding them: keep every entry's pickle.
    keep_all = cache is None and settings.archives and not keep_fragments
    accumulator = Accumulator(
        settings, None if keep_all else fetch, lambda rel: display(folder / rel)
    )
    fresh: dict[str, FileState] = {}
    blobs: list[tuple[str, bytes, bytes]] = []
    memory: dict[str, bytes] | None = {} if keep_fragments and cache is None else None
    if progress is not None:
        progress.reading(len(changed))
    for outcome in outcomes(settings, changed, workers):
        known = fresh[outcome.rel] = _state_of(outcome)
        if known[0] is not None:  # its summary, with feed keys shared with every other record's
            accumulator.add_summary(_summary(known[0], outcome.rel), outcome.blob)
        if outcome.blob is not None and outcome.fragments is not None and cache is not None:
            blobs.append((outcome.rel, outcome.blob, outcome.fragments))
            if len(blobs) >= 2000:
                cache.put_entries(blobs)
                blobs.clear()
        if memory is not None and outcome.fragments is not None:
            memory[outcome.rel] = outcome.fragments
        if progress is not None:
            progress.read(outcome.error is not None)
    if cache is not None:
        cache.put_entries(blobs)
        cache.drop_entries(removed)

    files = {rel: fresh.get(rel) or state.files[rel] for rel in rels}
    for rel, (summary, _, _, _) in files.items():
        if summary is not None and rel not in fresh:
            accumulator.add_summary(_summary(summary, rel))
    rejected, warnings, drafts = _problems(folder, files, scan)
    grouped = accumulator.finish()
    dirty = None
    signatures = {}
    if cache is not None:
        damaged = _damaged_outputs(settings, state.report)
        signatures = {plan.path: plan.signature() for plan in grouped.plans}
        old = state.report.signatures
        dirty = frozenset(
            path for path, signature in signatures.items() if old.get(path) != signature
        ) | (damaged & signatures.keys())
    report = Report(
        published=grouped.published,
        duplicates=[(p.path, p.reason) for p in grouped.duplicates],
    )
    return Build(
        settings=settings,
        plans=tuple(grouped.plans),
        records=len(rels) + len(scan.errors),
        published=grouped.published,
        drafts=drafts,
        duplicates=len(grouped.duplicates),
        rejected=tuple(rejected),
        warnings=tuple(warnings + grouped.duplicates),
        grouped=grouped,
        dirty=dirty,
        cache=cache,
        signatures=signatures,
        state=State(stats=stats, files=files, report=report),
        memory=memory,
        changed=len(changed) + len(removed),
        feed_count=sum(1 for plan in grouped.plans if not plan.paging.archive),
        page_count=sum(1 for plan in grouped.plans if plan.paging.archive),
    )


def _problems(
    folder: Path, files: dict[str, FileState], scan: Scan
) -> tuple[list[RecordError], list[Problem], int]:
    """Rejected records, warnings and the number of drafts, in path order (what the folder's
    walk could not read first)."""
    rejected = [RecordError(display(folder / e.path), e.field, e.reason) for e in scan.errors]
    warnings = [Problem(display(folder / w.path), w.field, w.reason) for w in scan.warnings]
    drafts = 0
    for rel, (_, draft, error, problems) in files.items():
        drafts += draft
        if error is not None or problems:
            shown = display(folder / rel)
            if error is not None:
                rejected.append(RecordError(shown, *error))
            warnings.extend(Problem(shown, f, reason) for f, reason in problems)
    return rejected, warnings, drafts


def _state_of(outcome: FileOutcome) -> FileState:
    summary = None
    if outcome.summary is not None:
        s = outcome.summary
        # Shared key objects: the saved state then holds each feed key once, and loads fast.
        keys = tuple(_SHARED.setdefault(key, key) for key in s.keys)
        summary = (s.id, s.published, s.digest, keys, s.size)
    error = (outcome.error.field, outcome.error.reason) if outcome.error is not None else None
    warnings = tuple((w.field, w.reason) for w in outcome.warnings)
    return (summary, outcome.draft, error, warnings)


def _summary(known: tuple[Any, ...], rel: str) -> Summary:
    article, published, digest, keys, size = known
    return Summary(article, published, digest, rel, keys, size)


_SHARED: dict[Any, Any] = {}


def file_stat(path: Path | str) -> tuple[int, int]:
    """(size, mtime in ns) of ``path``; (-1, -1) when it cannot be read."""
    try:
        stat = os.stat(path)
    except OSError:
        return (-1, -1)
    return (stat.st_size, stat.st_mtime_ns)


def output_stats(folder: Path, paths: Iterable[str]) -> dict[str, tuple[int, int]]:
    """:func:`file_stat` of each of ``paths`` in ``folder`` (string joins: thousands of files)."""
    base = str(folder)
    return {path: file_stat(os.path.join(base, path)) for path in paths}


def _damaged_outputs(settings: Settings, report: Report) -> set[str]:
    """Feed paths (without extension) whose output files are not as the last build left them."""
    damaged = set()
    base = str(settings.output)
    for path, recorded in report.outputs.items():
        if file_stat(os.path.join(base, path)) != recorded:
            damaged.add(path.rsplit(".", 1)[0])
    return damaged


def _outputs_intact(settings: Settings, report: Report) -> bool:
    return (
        bool(report.outputs)
        and not interrupted(settings.output)
        and not _damaged_outputs(settings, report)
    )


def _unchanged(settings: Settings, scan: Scan, cache: Cache) -> Build:
    """Nothing changed since the last build: report it again, render nothing."""
    state = cache.full_state(cache.quick_state())
    rejected, warnings, drafts = _problems(settings.records, state.files, scan)
    report = state.report
    warnings.extend(Problem(path, "webUrl", reason) for path, reason in report.duplicates)
    with_entries = sum(1 for summary, _, _, _ in state.files.values() if summary is not None)
    cache.close()
    return Build(
        settings=settings,
        plans=(),
        records=len(scan.files) + len(scan.errors),
        published=report.published,
        drafts=drafts,
        duplicates=with_entries - report.published,
        rejected=tuple(rejected),
        warnings=tuple(warnings),
        grouped=None,
        cache=None,
        state=state,
        feed_count=sum(1 for path in report.signatures if not is_archive_page(path)),
        page_count=sum(1 for path in report.signatures if is_archive_page(path)),
    )


def build(settings: Settings, *, workers: int | None = None) -> Build:
    """A build with all its documents rendered into ``files`` (what the app serves)."""
    result = run(settings, workers=workers, keep_fragments=True)
    result.files = dict(result.documents())
    return result


def display(path: Path) -> str:
    """``path`` relative to the current folder when it is inside it, for shorter messages."""
    try:
        inside = path.is_absolute() and path.is_relative_to(Path.cwd())
        return os.path.relpath(path) if inside else str(path)
    except (ValueError, OSError):
        return str(path)
