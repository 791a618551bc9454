"""``feeds serve``: a Starlette app serving the built feeds from memory, rebuilt on change.

The hot path runs before Starlette's stack: one dict lookup, headers prepared at build time, and
a 304 when the validators match. Everything else (health check, 404, 405) goes through Starlette.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import traceback
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import anyio.to_thread
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from feeds.build import Build, build, display
from feeds.dates import rfc3339
from feeds.errors import FeedsError
from feeds.grouping import EPOCH
from feeds.history import load_history, remove_leftovers, save_history
from feeds.layout import INDEX, feed_path, feed_url
from feeds.rendering import FORMATS
from feeds.serving import (
    History,
    Prepared,
    Snapshot,
    choose,
    make_snapshot,
    not_modified,
    updated_history,
)
from feeds.settings import Settings, load_settings
from feeds.store import Published, current, load
from feeds.websub import link_header
from feeds.writing import write_output

log = logging.getLogger("feeds")
ALLOW = (b"allow", b"GET, HEAD")
DEBOUNCE_SECONDS = 0.2
# How often a worker looks for a new build: a readlink, so even 4 a second cost nothing.
POLL_SECONDS = 0.25
SNAPSHOT_DIR = "FEEDS_SNAPSHOT_DIR"
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


class Source(Protocol):
    """What the app serves from: a builder (:class:`FeedServer`) or a worker (:class:`Follower`)."""

    snapshot: Snapshot | None
    builds: int

    @property
    def last_error(self) -> str | None: ...


class FeedsApp(Starlette):
    """A Starlette app whose first step serves built documents from memory.

    The check runs before Starlette's middleware stack, so a feed request costs one dict lookup
    and a prepared set of headers; anything else (health check, 404, 405) is plain Starlette.
    """

    server: Source

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        snapshot = self.server.snapshot
        if scope["type"] == "http" and snapshot is not None:
            path = scope["path"]
            document = snapshot.documents.get("/" + INDEX if path == "/" else path)
            if document is not None:
                await _serve(document, scope, send)
                return
        await super().__call__(scope, receive, send)


async def _serve(document: Prepared, scope: Scope, send: Send) -> None:
    method = scope["method"]
    if method != "GET" and method != "HEAD":
        headers = (ALLOW, (b"content-type", b"text/plain; charset=utf-8"))
        await _send(send, 405, headers, b"Method Not Allowed\n")
        return
    accept = inm = ims = None
    media = ""
    for name, value in scope["headers"]:
        if name == b"accept-encoding":
            accept = value.decode("latin-1")
        elif name == b"accept":
            media = value.decode("latin-1")
        elif name == b"if-none-match":
            text = value.decode("latin-1")
            inm = text if inm is None else f"{inm},{text}"
        elif name == b"if-modified-since":
            ims = value.decode("latin-1")
    variant = choose(document, accept or "", media) if accept or media else document.identity
    if (inm is not None or ims is not None) and not_modified(
        variant, document.last_modified, inm, ims
    ):
        await _send(send, 304, variant.not_modified_headers, b"")
    else:
        await _send(send, 200, variant.ok_headers, b"" if method == "HEAD" else variant.body)


async def _send(send: Send, status: int, headers: Any, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def create_app(
    settings: Settings,
    *,
    settings_file: Path | None = None,
    watch: bool = False,
    write: bool = False,
) -> FeedsApp:
    """The app for ``settings``. It builds at startup (a failure there stops the server) and,
    with ``watch``, rebuilds when the records or the settings file change."""
    server = FeedServer(settings, settings_file, write=write)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[Mapping[str, Any]]:
        await server.rebuild()
        async with anyio.create_task_group() as tasks:
            if watch:
                tasks.start_soon(server.watch)
            yield {}
            tasks.cancel_scope.cancel()

    return _app(server, lifespan)


def _app(server: Source, lifespan: Any) -> FeedsApp:
    """The Starlette app serving ``server``'s snapshot, with ``/healthz`` and plain 404/405s."""

    async def healthz(request: Request) -> Response:
        snapshot, error = server.snapshot, server.last_error
        body: dict[str, Any] = {
            "status": "ok" if error is None else "stale",
            "last_build": rfc3339(snapshot.built_at) if snapshot else None,
            "builds": server.builds,
            "last_error": error,
            "pid": os.getpid(),
            **(snapshot.stats if snapshot else {}),
        }
        # 503 when stale, so that a monitor that looks at the status alone notices.
        status = 200 if error is None else 503
        return JSONResponse(body, status, headers={"cache-control": "no-store"})

    async def not_found(request: Request, exc: Exception) -> Response:
        if isinstance(exc, HTTPException) and exc.status_code != 404:
            return PlainTextResponse(f"{exc.detail}\n", exc.status_code, headers=exc.headers)
        return PlainTextResponse("Not Found\n", 404)

    app = FeedsApp(
        routes=[Route("/healthz", healthz, methods=["GET", "HEAD"])],
        exception_handlers={404: not_found, 405: not_found},
        lifespan=lifespan,
    )
    app.server = server
    app.state.server = server
    return app


class Follower:
    """A worker of ``feeds serve --workers``: serves what the builder published in the store
    and swaps in each new generation whole. It never builds."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.snapshot: Snapshot | None = None
        self.last_error: str | None = None
        self.builds = 0
        self.generation: str | None = None
        self._problem: str | None = None

    def take(self, published: Published) -> None:
        # No await between these: a request sees one generation's snapshot and status.
        self.snapshot = published.snapshot
        self.builds = published.builds
        self.last_error = published.last_error
        self.generation = published.generation

    async def refresh(self) -> bool:
        """Load the current generation if it is not the one served; True when it was swapped."""
        generation = current(self.folder)
        if generation == self.generation:
            return False
        published = await anyio.to_thread.run_sync(load, self.folder, generation, self.snapshot)
        previous = self.snapshot
        self.take(published)
        changed = sum(
            1
            for path, doc in published.snapshot.documents.items()
            if previous is None or previous.documents.get(path) is not doc
        )
        log.info(
            "worker %d serves %s (build %d, %s): %d documents reloaded",
            os.getpid(),
            generation,
            published.builds,
            "ok" if published.last_error is None else "stale",
            changed,
        )
        return True

    async def follow(self) -> None:
        """Poll the store's pointer (one readlink, off the request path) and reload on change."""
        while True:
            await asyncio.sleep(POLL_SECONDS)
            try:
                await self.refresh()
                self._problem = None
            except Exception as e:  # whatever it is, the worker goes on serving and polling
                problem = describe(e)
                if problem != self._problem:  # once per problem, not every poll
                    log.error("still serving %s: %s", self.generation, problem)
                self._problem = self.last_error = problem


def from_snapshot_dir() -> Starlette:
    """App factory of the workers of ``feeds serve --workers N``: serves the builder's store
    named by ``FEEDS_SNAPSHOT_DIR`` and follows its new generations."""
    follower = Follower(Path(os.environ[SNAPSHOT_DIR]))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[Mapping[str, Any]]:
        await follower.refresh()
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(follower.follow)
            yield {}
            tasks.cancel_scope.cancel()

    return _app(follower, lifespan)


def from_environment() -> Starlette:
    """App factory for any ASGI server: ``uvicorn --factory feeds.app:from_environment``.

    ``FEEDS_SETTINGS`` names the settings file (default ``./settings.yaml``); ``FEEDS_WATCH=0``
    turns watching off.
    """
    path = Path(os.environ.get("FEEDS_SETTINGS", "settings.yaml"))
    watch = os.environ.get("FEEDS_WATCH", "1") not in ("0", "false", "no")
    return create_app(load_settings(path), settings_file=path, watch=watch)
