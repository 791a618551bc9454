"""The one-process server's builder: builds at startup, rebuilds on change (watchfiles, with a
watcher that is started again whenever it fails), keeps the last good snapshot whatever a
rebuild raises, and keeps Last-Modified moving forward across restarts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import traceback
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio.to_thread

from feeds.build import Build, build, display
from feeds.errors import FeedsError
from feeds.grouping import EPOCH
from feeds.layout import feed_path, feed_url
from feeds.publish.websub import link_header
from feeds.rendering import FORMATS
from feeds.serve.history import load_history, remove_leftovers, save_history
from feeds.serve.http import (
    History,
    Snapshot,
    make_snapshot,
    updated_history,
)
from feeds.settings import Settings, load_settings
from feeds.writing import write_output

log = logging.getLogger("feeds")
DEBOUNCE_SECONDS = 0.2
# The first and the longest wait before a watcher that failed is started again. While it is
# down, each attempt also rebuilds, so changes are still picked up, only later.
WATCH_RETRY_SECONDS = (0.5, 8.0)
# A running watcher reports this often even when nothing changed: the proof that it runs.
WATCH_HEARTBEAT_MS = 1000
TRACE_FRAMES = 8


def describe(error: BaseException) -> str:
    """One line for an exception: our own errors say what and where; anything else (a bug, or
    an input nothing checks) also gets its type, since the message alone is often cryptic."""
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]  # watchfiles raises through a task group
    if isinstance(error, FeedsError | OSError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def history_file(settings: Settings) -> Path:
    """Where the server keeps each path's digest and Last-Modified between runs: beside the
    build cache (``.feeds-cache.served.json`` by default), never in the output folder."""
    return settings.cache_file.with_suffix(".served.json")


class FeedServer:
    """The current snapshot and how to replace it; one per app (and per worker process)."""

    def __init__(self, settings: Settings, settings_file: Path | None, *, write: bool) -> None:
        self.settings = settings
        self.settings_file = settings_file.resolve() if settings_file else None
        self.write = write
        self.snapshot: Snapshot | None = None
        self.build_error: str | None = None
        self.watch_errors: dict[str, str] = {}
        self.builds = 0
        self.history: History = {}
        self._history_file: Path | None = None
        self._history_problem: str | None = None
        self._dirty = asyncio.Event()
        self._records_moved = asyncio.Event()
        # Changes of the settings file seen, and how many of them the settings in use follow:
        # a file that failed to load is read again at every rebuild until it loads.
        self._settings_changes = 0
        self._settings_read = 0

    @property
    def last_error(self) -> str | None:
        """Why what is served may be out of date: the last rebuild failed, a watcher is down."""
        errors = [self.build_error, *self.watch_errors.values()]
        return "; ".join(error for error in errors if error is not None) or None

    async def rebuild(self) -> bool:
        """Build and swap in a new snapshot. On any failure keep serving the last good one and
        report why, except for the first build, whose failure stops the server."""
        changes = self._settings_changes
        settings = self.settings
        stage = "build"
        try:
            if changes != self._settings_read and self.settings_file is not None:
                stage = display(self.settings_file)
                settings = await anyio.to_thread.run_sync(load_settings, self.settings_file)
                stage = "build"
            snapshot = await anyio.to_thread.run_sync(self._build, settings, self.snapshot)
        except Exception as e:
            if self.snapshot is None:
                raise
            self._failed(stage, e)
            return False
        self._settings_read = changes
        if settings.records != self.settings.records:
            self._records_moved.set()  # the watcher follows the settings to the new folder
        self.settings = settings
        self.snapshot = snapshot  # one assignment: a request sees the old set or the new one
        self.build_error = None
        self.builds += 1
        return True

    def _failed(self, stage: str, e: Exception) -> None:
        error = describe(e)
        trace = ""
        if not isinstance(e, FeedsError | OSError):
            error = f"{stage}: {error}"
            # A bug, or an input nothing checks: where it was raised, once per new error. The
            # innermost frames only: a RecursionError has a thousand.
            if error != self.build_error:
                trace = "\n" + "".join(traceback.format_exception(e, limit=-TRACE_FRAMES))
        self.build_error = error
        log.error("rebuild failed, still serving the previous build: %s%s", error, trace.rstrip())

    def _build(self, settings: Settings, previous: Snapshot | None) -> Snapshot:
        result = build(settings)
        for error in result.rejected:
            log.warning("%s", error)
        for warning in result.warnings:
            log.info("%s: %s: warning: %s", warning.path, warning.field, warning.reason)
        if self.write:
            write_output(settings.output, result.files)
        stats = {
            "records": result.records,
            "published": result.published,
            "unpublished": result.drafts,
            "duplicates": result.duplicates,
            "rejected": len(result.rejected),
            "feeds": result.feed_count,
            "documents": len(result.files),
        }
        history = self._load_history(history_file(settings))
        snapshot = make_snapshot(
            result.files,
            previous=previous,
            now=datetime.now(UTC),
            first_seen=_first_seen(settings, result),
            max_age=settings.ttl_minutes * 60,
            sealed=result.sealed(),
            stats=stats,
            links=_links(settings, result),
            history=history,
        )
        self._save_history(updated_history(history, snapshot))
        changed = sum(
            1
            for path, doc in snapshot.documents.items()
            if previous is None or previous.documents.get(path) is not doc
        )
        log.info(
            "built %d feeds from %d records (%d rejected); %d documents changed",
            result.feed_count,
            result.records,
            len(result.rejected),
            changed,
        )
        return snapshot

    def _load_history(self, path: Path) -> History:
        if path != self._history_file:  # at startup, and when the cache setting moved
            self._history_file = path
            self.history, problem = load_history(path)
            remove_leftovers(path)
            if problem is not None:
                log.warning(
                    "%s: ignored, Last-Modified starts afresh: %s (it is written anew)",
                    display(path),
                    problem,
                )
        return self.history

    def _save_history(self, history: History) -> None:
        """Saved before the snapshot is served, so no run serves a time the next cannot see."""
        if history == self.history or self._history_file is None:
            return
        self.history = history
        try:
            save_history(self._history_file, history)
        except OSError as e:
            if str(e) != self._history_problem:  # once per problem, not every build
                log.warning(
                    "%s: cannot save, Last-Modified is kept in memory only: %s",
                    display(self._history_file),
                    e,
                )
            self._history_problem = str(e)
        else:
            self._history_problem = None

    def request_rebuild(self, *, settings_changed: bool) -> None:
        self._settings_changes += settings_changed
        self._dirty.set()

    async def status_changed(self) -> None:
        """Called when ``last_error`` changed outside a rebuild (a watcher failed or runs
        again). The builder of several workers publishes it to them."""

    async def rebuild_on_request(self) -> None:
        while True:
            await self._dirty.wait()
            await asyncio.sleep(DEBOUNCE_SECONDS)  # let a burst of saves settle into one build
            self._dirty.clear()
            try:
                await self.rebuild()
            except Exception:  # rebuild() reports its own failures: this would be a bug in it
                log.exception("rebuild failed")

    async def watch(self) -> None:
        """Rebuild when the records folder or the settings file changes, for as long as the
        server runs: a watcher that fails is started again."""
        from watchfiles import awatch

        def records(folder: Path) -> AsyncIterator[set[Any]]:
            return awatch(
                folder,
                stop_event=self._records_moved,
                debounce=100,
                step=50,
                rust_timeout=WATCH_HEARTBEAT_MS,
                yield_on_timeout=True,
            )

        def settings_file(folder: Path) -> AsyncIterator[set[Any]]:
            # Editors replace files by renaming, so the folder is watched, not the file.
            path = self.settings_file
            return awatch(
                folder,
                recursive=False,
                watch_filter=lambda _, changed: Path(changed) == path,
                debounce=100,
                step=50,
                rust_timeout=WATCH_HEARTBEAT_MS,
                yield_on_timeout=True,
            )

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(self.rebuild_on_request)
            tasks.start_soon(self._keep_watching, lambda: self.settings.records, records, False)
            if self.settings_file is not None:
                folder = self.settings_file.parent
                tasks.start_soon(self._keep_watching, lambda: folder, settings_file, True)

    async def _keep_watching(
        self,
        folder: Callable[[], Path],
        watch: Callable[[Path], AsyncIterator[set[Any]]],
        settings_changed: bool,
    ) -> None:
        """Run ``watch`` on ``folder()`` and request a rebuild on each change, for ever.

        Whatever the watcher raises (watchfiles' own errors included) is logged and reported
        as ``last_error``; the watcher is started again after a wait that doubles up to
        :data:`WATCH_RETRY_SECONDS`, each attempt with a rebuild. Once it runs again (it
        reports in at least every :data:`WATCH_HEARTBEAT_MS`), one more rebuild catches what
        changed while it was down, and the error is cleared."""
        key = "settings" if settings_changed else "records"
        wait = WATCH_RETRY_SECONDS[0]
        while True:
            watched = folder()
            try:
                async for changes in watch(watched):
                    if key in self.watch_errors:
                        del self.watch_errors[key]
                        log.info("watching %s again", display(watched))
                        wait = WATCH_RETRY_SECONDS[0]
                        self.request_rebuild(settings_changed=settings_changed)
                        await self.status_changed()
                    elif changes:
                        self.request_rebuild(settings_changed=settings_changed)
                if not settings_changed and self._records_moved.is_set():
                    self._records_moved.clear()
                    # Files written before the new watch started are caught by one more build.
                    self.request_rebuild(settings_changed=False)
                    continue
                raise RuntimeError("the watcher stopped")
            except Exception as e:
                error = f"watching {display(watched)}: {describe(e)}"
                if self.watch_errors.get(key) != error:  # once per problem, not every attempt
                    log.error("%s; trying again, rebuilding meanwhile", error)
                    self.watch_errors[key] = error
                    await self.status_changed()
                await asyncio.sleep(wait)
                wait = min(wait * 2, WATCH_RETRY_SECONDS[1])
                self.request_rebuild(settings_changed=settings_changed)


def _first_seen(settings: Settings, result: Build) -> Any:
    """Last-Modified at startup: the existing output file's mtime if it holds the same bytes,
    else the newest entry's time."""
    newest: dict[str, datetime] = {}
    for feed in result.plans:
        for fmt in FORMATS:
            newest[feed_path(feed, fmt)] = feed.updated
    overall = max((feed.updated for feed in result.plans), default=EPOCH)

    def first_seen(path: str, body: bytes) -> datetime:
        existing = settings.output / path
        with contextlib.suppress(OSError):
            if existing.stat().st_size == len(body) and existing.read_bytes() == body:
                return datetime.fromtimestamp(existing.stat().st_mtime, UTC)
        return newest.get(path, overall)

    return first_seen


def _links(settings: Settings, result: Build) -> dict[str, str]:
    """The ``Link`` header (hubs and self) of every subscription document, when there are hubs."""
    if not settings.hubs:
        return {}
    return {
        feed_path(feed, fmt): link_header(settings.hubs, feed_url(settings, feed, fmt))
        for feed in result.plans
        if not feed.paging.archive
        for fmt in settings.formats
    }
