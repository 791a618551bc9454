"""One build for one settings object: the records read (only the changed ones, with a cache),
grouped into feeds and planned, and the result that renders and writes them.

A build is either :class:`Built` (plans to render, the documents whose plan changed marked) or
:class:`Unchanged` (nothing changed since the last build: the same report, nothing to render).
Reading runs on every core (``reading.py``), what changed comes from the cache
(``freshness.py``), documents are staged on every core (``fanout.py``) and put in place by the
writer (``writing.py``). Nothing here prints.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from feeds.cache import Cache, FileState, ProblemRow, Report, State, guarded, scan_digest
from feeds.errors import DUPLICATES, FeedsError, Problem, RecordError
from feeds.freshness import damaged_outputs, output_stats, outputs_intact, state_of, summary_of
from feeds.grouping import Accumulator, FeedPlan, Grouped
from feeds.layout import EXTENSIONS, document_paths, is_archive_page, sealed_pages
from feeds.model import Entry, Feed
from feeds.progress import Progress
from feeds.rendering import Fragments, render_all, site_documents
from feeds.replan import Last, Members, Slot, catalog_of, members_of, replan
from feeds.scan import Scan, scan_records
from feeds.settings import Settings
from feeds.writing import MANIFEST, OutputWriter, WriteReport

# The process pools (reading.py, fanout.py: multiprocessing, concurrent.futures) are imported
# in the functions that read or stage: a build with nothing to do, a cron job's usual case,
# never needs them.


@dataclass(slots=True, kw_only=True)
class Build:
    """What every build tells: what happened to every record, how many feeds there are."""

    settings: Settings
    records: int
    published: int
    drafts: int
    duplicates: int
    rejected: tuple[RecordError, ...]
    warnings: tuple[Problem, ...]
    state: State | None = None
    changed: int = 0
    """Record files read again or removed since the last build."""
    feed_count: int = 0
    """Subscription documents (feeds); their archive pages are counted in ``page_count``."""
    page_count: int = 0
    plans: tuple[FeedPlan, ...] = ()
    files: dict[str, bytes] = field(default_factory=dict)
    """Every document, when :func:`build` rendered them in memory."""
    skipped: dict[str, int] = field(default_factory=dict)
    """Files in the records folder that are not records, by kind (see :class:`Scan`)."""

    def expected(self) -> set[str]:
        """Every file this build's output folder holds."""
        raise NotImplementedError

    def to_render(self) -> int:
        """How many documents :meth:`write` renders (the rest did not change)."""
        return 0

    def documents(self) -> Iterator[tuple[str, bytes]]:
        """The files to write, rendered one at a time, feeds before the index and OPML."""
        return iter(())

    def write(
        self,
        folder: Path,
        *,
        workers: int | None = None,
        progress: Progress | None = None,
    ) -> WriteReport:
        """Make ``folder`` hold this build's output: render and stage the documents that
        changed, then put them in place and record the manifest; ``progress`` is told each
        phase and the documents as they are staged and put in place."""
        if self.untouched():
            return WriteReport((), tuple(sorted(self.expected())), ())
        from feeds.reading import available_cores

        with OutputWriter(folder, self.expected()) as writer:
            self._stage(writer, workers or available_cores(), progress)
            return writer.finish(self.expected(), progress=progress)

    def untouched(self) -> bool:
        """Whether the output folder is left alone: every file already as this build's."""
        return False

    def _stage(self, writer: OutputWriter, workers: int, progress: Progress | None) -> None:
        """Stage the documents that changed: none, unless a subclass knows better."""

    def commit(self, folder: Path) -> None:
        """Remember this build in the cache, once its files are written to ``folder``."""


@dataclass(slots=True, kw_only=True)
class Unchanged(Build):
    """Nothing changed since the last build: its report again, nothing rendered."""

    def expected(self) -> set[str]:
        outputs = self.state.report.outputs if self.state is not None else {}
        return set(outputs) - {MANIFEST}

    def untouched(self) -> bool:
        # Every file, the manifest among them, is as the last build left it (run() checked
        # their stats, and that no build is half-way): nothing to write, lock or remove.
        return True


@dataclass(slots=True, kw_only=True)
class Built(Build):
    """The feeds planned, ready to render and write the documents that changed."""

    grouped: Grouped
    dirty: frozenset[str] | None = None
    """Paths of the feeds to render; None renders all of them."""
    cache: Cache | None = None
    signatures: dict[str, str] = field(default_factory=dict)
    """Every document's :meth:`FeedPlan.signature`, by path, when built with a cache."""
    memory: dict[str, bytes] | None = None
    """Every entry's rendered fragments by record file, when built without a cache for memory."""
    kept: tuple[str, ...] = ()
    """Archive pages of the feeds no changed record touched (not planned again, see
    ``replan.py``): paths without extension."""
    members: dict[Slot, Members] | None = None
    """The members of the feeds planned again, when only the touched ones were."""
    files_changed: frozenset[str] | None = None
    """The record files whose state this build changed (None: any of them)."""
    files_saved: bool = False

    @property
    def feeds(self) -> list[Feed]:
        return self.grouped.feeds

    def expected(self) -> set[str]:
        return set(self._paths()) | set(site_documents(self.settings))

    def sealed(self) -> set[str]:
        """Paths of the archive pages that will never change again (a newer page exists)."""
        return sealed_pages(self._paths())

    def _paths(self) -> Iterator[str]:
        formats = self.settings.formats
        for plan in self.plans:
            yield from document_paths(plan, formats)
        for path in self.kept:
            yield from (path + EXTENSIONS[fmt] for fmt in formats)

    def documents(self) -> Iterator[tuple[str, bytes]]:
        return render_all(
            self.plans,
            self.settings,
            self.grouped.accumulator.materialize,
            self.dirty,
            fragments=self._fragments,
        )

    def to_render(self) -> int:
        paths = [plan.path for plan in self.plans] if self.dirty is None else self.dirty
        pages = sum(1 for path in paths if not is_archive_page(path))
        return len(paths) * len(self.settings.formats) + pages + len(site_documents(self.settings))

    def _stage(self, writer: OutputWriter, workers: int, progress: Progress | None) -> None:
        """Feeds on every core when there are many, then the index and the OPMLs."""
        from feeds.fanout import PARALLEL_MIN_FEEDS, Work, stage_in_parallel

        plans = [p for p in self.plans if self.dirty is None or p.path in self.dirty]
        if progress is not None and self.cache is not None and not self.files_saved:
            progress.phase("caching what was read")
        self._save_files()
        done = None
        if progress is not None:
            progress.phase("writing feeds", self.to_render())
            done = progress.advance
        if workers > 1 and len(plans) >= PARALLEL_MIN_FEEDS:
            if self.cache is not None:
                self.cache.db.commit()  # the children read entries through their own one
            parts = [plans[i :: workers * 2] for i in range(workers * 2)]
            work = Work(
                self.settings, self._load, self._fragments, self._reopen, writer.folder, parts
            )
            stage_in_parallel(work, writer, workers, done)
            documents = render_all(
                self.plans, self.settings, self._load, only=(), fragments=self._fragments
            )
        else:
            documents = self.documents()
        for path, data in documents:
            writer.write(path, data)
            if done is not None:
                done(1)

    def _load(self, plan: FeedPlan) -> Feed:
        return self.grouped.accumulator.materialize(plan)

    def _reopen(self) -> None:
        if self.cache is not None:
            self.cache.reopen()  # after a fork, the parent's connection must not be used

    def _fragments(self, plan: FeedPlan) -> list[Fragments] | None:
        """The document's entries as rendered when their records were read, from the cache;
        None (render them) without a cache or when one is missing."""
        if self.cache is None and self.memory is None:
            return None
        sources = self.grouped.accumulator.sources
        paths = [sources[serial] for _, _, serial in plan.items]
        found = self.cache.fragments(paths) if self.cache is not None else self.memory or {}
        if any(path not in found for path in paths):
            return None
        with guarded():
            return [pickle.loads(found[path]) for path in paths]

    def _save_files(self) -> None:
        """Save what is known of every record file, then let it go: the documents are rendered
        (in forked processes) without it. The feed signatures follow once they are written."""
        if self.cache is None or self.state is None or self.files_saved:
            return
        self.state.report.signatures = {}
        self.cache.save(self.state, catalog=None, changed=self.files_changed)
        self.state.stats, self.state.files = {}, {}
        self.files_saved = True

    def commit(self, folder: Path) -> None:
        if self.cache is None or self.state is None:
            return
        # The manifest too: a build with nothing to do then leaves the folder alone only when
        # the manifest is also as this build wrote it.
        outputs = output_stats(folder, self.expected() | {MANIFEST})
        self.state.report.signatures = self.signatures or {
            plan.path: plan.signature() for plan in self.plans
        }
        self.state.report.outputs = outputs
        planning = self.grouped.accumulator.planning
        if self.members is not None:
            self.cache.put_members(self.members.items())
        elif planning is not None:
            self.cache.put_members(members_of(planning), every=True)
        # Without members to plan from, the next build plans every feed.
        known = self.members is not None or planning is not None
        catalog = catalog_of(self.plans) if known else None
        self.cache.save(self.state, only_report=self.files_saved, catalog=catalog)
        self.cache.close()


def run(
    settings: Settings,
    *,
    progress: Progress | None = None,
    workers: int | None = None,
    cache: Cache | None = None,
    keep_fragments: bool = False,
) -> Built | Unchanged:
    """Read the records (only the changed ones, with a cache) and group them into feeds.

    ``keep_fragments`` keeps every entry's rendered fragments in memory when there is no cache
    to hold them, for a build that renders every document at once (the app's).
    """
    if not settings.records.is_dir():
        raise FeedsError(f"records folder not found: {display(settings.records)}")
    folder = settings.records
    if progress is not None:
        progress.phase("finding records")
    scan = scan_records(folder)
    scanned = scan_digest(scan.files)
    retitled = cache.retitled(settings) if cache is not None else set()
    if cache is not None and not retitled and scanned == cache.scanned():
        report = cache.report()
        if report is not None and outputs_intact(settings, report):
            return _unchanged(settings, scan, cache, report)
    from feeds.reading import outcomes, process

    stats = {rel: (size, mtime) for rel, size, mtime in scan.files}
    state = State()
    if cache is not None:
        if progress is not None:
            progress.phase("loading the build cache")
        state = cache.full_state(cache.quick_state())
    last_stats = state.stats if state.files else {}
    changed = [rel for rel, stat in stats.items() if last_stats.get(rel) != stat]
    removed = state.files.keys() - stats.keys()

    def shown(rel: str) -> str:
        return display(folder / rel)

    def fetch(rel: str) -> Entry | None:
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
        settings,
        None if keep_all else fetch,
        shown,
        keep_planning=cache is not None and settings.archives,
    )
    # With what the last build planned, only the feeds the changed records touch are planned
    # again (replan.py); the accumulator plans every feed.
    damaged = damaged_outputs(settings, state.report) if cache is not None else set()
    catalog = cache.catalog() if cache is not None and state.files and not damaged else None
    fresh: dict[str, FileState] = {}
    blobs: list[tuple[str, bytes]] = []
    memory: dict[str, bytes] | None = {} if keep_fragments and cache is None else None
    if progress is not None:
        progress.reading(len(changed))
    # With a cache, documents are put together from the entries' fragments it keeps: the
    # entries themselves are not needed (nor sent from the workers, nor kept).
    for outcome in outcomes(settings, changed, workers, entries=cache is None):
        known = fresh[outcome.rel] = state_of(outcome)
        if known[0] is not None and catalog is None:  # feed keys shared with other records'
            accumulator.add_summary(summary_of(known[0], outcome.rel), outcome.blob)
        if outcome.fragments is not None and cache is not None:
            blobs.append((outcome.rel, outcome.fragments))
            if len(blobs) >= 2000:
                cache.put_entries(blobs)
                blobs.clear()
        if memory is not None and outcome.fragments is not None:
            memory[outcome.rel] = outcome.fragments
        if progress is not None:
            progress.read(outcome.error is not None)
    if progress is not None:
        progress.phase("planning feeds")
    if cache is not None:
        cache.put_entries(blobs)
        cache.drop_entries(removed)

    # What the last build knew, brought up to date (in place: 100,000 files at 100k records).
    before = {rel: state.files.get(rel) for rel in [*changed, *removed]}
    files = state.files
    files.update(fresh)
    for rel in removed:
        del files[rel]
    problems = {rel: (f[2], f[3]) for rel, f in files.items() if f[2] is not None or f[3]}
    problems = {rel: problems[rel] for rel in sorted(problems)}
    rejected, warnings = _problems(folder, problems, scan)
    drafts = sum(1 for f in files.values() if f[1])
    kept: tuple[str, ...] = ()
    members: dict[Slot, Members] | None = None
    if cache is not None and catalog is not None:
        last = Last(
            catalog,
            cache.members,
            state.report.published,
            [
                Problem(path, "webUrl", reason, DUPLICATES)
                for path, reason in state.report.duplicates
            ],
            {("custom", slug) for slug in retitled},
        )
        replanned = replan(settings, files, before, last, fetch, shown)
        grouped, kept, members = replanned.grouped, replanned.kept, replanned.members
    else:
        for rel, (summary, _, _, _) in files.items():
            if summary is not None and rel not in fresh:
                accumulator.add_summary(summary_of(summary, rel))
        grouped = accumulator.finish()
    dirty = None
    signatures = {}
    if cache is not None:
        old = state.report.signatures
        signatures = {path: old[path] for path in kept} | {
            plan.path: plan.signature() for plan in grouped.plans
        }
        dirty = frozenset(
            path for path, signature in signatures.items() if old.get(path) != signature
        ) | (damaged & signatures.keys())
    report = Report(
        published=grouped.published,
        duplicates=[(p.path, p.reason) for p in grouped.duplicates],
        drafts=drafts,
        entries=sum(1 for f in files.values() if f[0] is not None),
        problems=problems,
    )
    return Built(
        settings=settings,
        plans=tuple(grouped.plans),
        records=len(stats) + len(scan.errors),
        skipped=scan.skipped,
        published=grouped.published,
        drafts=drafts,
        duplicates=len(grouped.duplicates),
        rejected=tuple(rejected),
        warnings=tuple(warnings + grouped.duplicates),
        grouped=grouped,
        dirty=dirty,
        cache=cache,
        signatures=signatures,
        state=State(stats=stats, scanned=scanned, files=files, report=report),
        memory=memory,
        kept=kept,
        members=members,
        files_changed=frozenset([*changed, *removed]) if state.files else None,
        changed=len(changed) + len(removed),
        feed_count=sum(1 for plan in grouped.plans if not plan.paging.archive),
        page_count=sum(1 for plan in grouped.plans if plan.paging.archive) + len(kept),
    )


def _problems(
    folder: Path, problems: dict[str, tuple[ProblemRow | None, tuple[ProblemRow, ...]]], scan: Scan
) -> tuple[list[RecordError], list[Problem]]:
    """Rejected records and warnings, in path order (what the folder's walk could not read
    first); paths shown relative to the current folder, as the user gave them."""
    rejected = [RecordError(display(folder / e.path), e.field, e.reason) for e in scan.errors]
    warnings = [Problem(display(folder / w.path), w.field, w.reason) for w in scan.warnings]
    for rel, (error, found) in problems.items():
        shown = display(folder / rel)
        if error is not None:
            rejected.append(RecordError(shown, *error))
        warnings.extend(Problem(shown, f, reason) for f, reason in found)
    return rejected, warnings


def _unchanged(settings: Settings, scan: Scan, cache: Cache, report: Report) -> Unchanged:
    """Nothing changed since the last build: report it again, render nothing."""
    state = State(report=report)
    rejected, warnings = _problems(settings.records, report.problems, scan)
    warnings.extend(
        Problem(path, "webUrl", reason, DUPLICATES) for path, reason in report.duplicates
    )
    cache.close()
    return Unchanged(
        settings=settings,
        records=len(scan.files) + len(scan.errors),
        skipped=scan.skipped,
        published=report.published,
        drafts=report.drafts,
        duplicates=report.entries - report.published,
        rejected=tuple(rejected),
        warnings=tuple(warnings),
        state=state,
        feed_count=sum(1 for path in report.signatures if not is_archive_page(path)),
        page_count=sum(1 for path in report.signatures if is_archive_page(path)),
    )


def build(settings: Settings, *, workers: int | None = None) -> Built:
    """A build with all its documents rendered into ``files`` (what the app serves)."""
    result = run(settings, workers=workers, keep_fragments=True)
    assert isinstance(result, Built)  # without a cache, nothing is ever unchanged
    result.files = dict(result.documents())
    return result


def display(path: Path) -> str:
    """``path`` relative to the current folder when it is inside it, for shorter messages."""
    try:
        inside = path.is_absolute() and path.is_relative_to(Path.cwd())
        return os.path.relpath(path) if inside else str(path)
    except (ValueError, OSError):
        return str(path)
