"""The server's builder: builds at startup, rebuilds on change (watchfiles, with a watcher that
is started again whenever it fails), keeps the last good snapshot whatever a rebuild raises.

Each build runs in a child process (``child.py``: the engine and cache of ``feeds build``, at a
lower priority), which answers with the documents that changed; this process only makes their
headers and swaps the new snapshot in, in one assignment. A child that fails, dies or is
killed is a failed rebuild like any other: logged, ``/healthz`` stale, the last good set
served byte for byte (its blobs are never touched by a later build).

The served folder (``<cache>.serving/``) belongs to one server at a time, by an ``flock`` held
for as long as it runs: a second server on the same settings (the factory in several processes
of another ASGI server) builds in a temporary folder of its own instead, removed when it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import traceback
from collections.abc import AsyncIterator, Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import anyio.to_thread

from feeds.build import display
from feeds.errors import FeedsError
from feeds.serve.child import BLOBS, NICE, Reply, Request
from feeds.serve.http import History, Snapshot, make_document
from feeds.settings import Settings, load_settings

log = logging.getLogger("feeds")
DEBOUNCE_SECONDS = 0.05  # watchfiles already groups a burst (debounce=100, step=50)
# The first and the longest wait before a watcher that failed is started again. While it is
# down, each attempt also rebuilds, so changes are still picked up, only later.
WATCH_RETRY_SECONDS = (0.5, 8.0)
# A running watcher reports this often even when nothing changed: the proof that it runs.
WATCH_HEARTBEAT_MS = 1000
TRACE_FRAMES = 8
# Lower first, so that even its imports yield to the server. Not ``-m feeds.serve.child``:
# its classes must pickle under their own module's name.
CHILD = f"import os; os.nice({NICE}); from feeds.serve.child import main; main()"


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

    def __init__(
        self,
        settings: Settings,
        settings_file: Path | None,
        *,
        write: bool,
        overrides: Mapping[str, Any] | None = None,
    ) -> None:
        self.settings = settings
        self.settings_file = settings_file.resolve() if settings_file else None
        self.write = write
        self.overrides = dict(overrides or {})
        """What the command line set (``base_url`` among them): it outlives a settings edit."""
        self.snapshot: Snapshot | None = None
        self.build_error: str | None = None
        self.watch_errors: dict[str, str] = {}
        self.builds = 0
        self.history: History | None = None
        """What was served, when it could not be saved (the build process saves it)."""
        self.generation = 0
        self.children = Children()
        self._serving = ServedFolder()
        self._notes: set[str] = set()
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
                settings = await anyio.to_thread.run_sync(
                    partial(load_settings, self.settings_file, **self.overrides)
                )
                stage = "build"
            snapshot = await self._build(settings, self.snapshot)
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
        if isinstance(e, RebuildFailed):
            trace = e.trace
        elif not isinstance(e, FeedsError | OSError):
            error = f"{stage}: {error}"
            trace = "".join(traceback.format_exception(e, limit=-TRACE_FRAMES))
        # A bug, or an input nothing checks: where it was raised, once per new error. The
        # innermost frames only: a RecursionError has a thousand.
        trace = "\n" + trace if trace and error != self.build_error else ""
        self.build_error = error
        log.error("rebuild failed, still serving the previous build: %s%s", error, trace.rstrip())

    async def _build(self, settings: Settings, previous: Snapshot | None) -> Snapshot:
        """Have a build process build, then make the headers of what changed."""
        folder = await anyio.to_thread.run_sync(self._serving.take, served_folder(settings))
        request = Request(
            settings=settings,
            folder=folder,
            history=history_file(settings),
            write=self.write,
            generation=self.generation if previous is not None else 0,
            first=previous is None,
            memory_history=self.history,
        )
        reply = await self.children.run(request)
        if reply.error is not None:
            raise RebuildFailed(reply.error, reply.trace)
        for error in reply.rejected:
            log.warning("%s", error)
        for warning in reply.warnings:
            log.info("%s", warning)
        for note in reply.notes:
            if note not in self._notes:  # once per problem, not every build
                log.warning("%s", note)
        self._notes = set(reply.notes)
        self.history = reply.history
        documents = dict(previous.documents) if previous is not None and not reply.full else {}
        for path in reply.removed:
            documents.pop("/" + path, None)
        blobs = str(folder / BLOBS)
        for path, served in reply.documents.items():
            documents["/" + path] = make_document(
                path,
                served.digest,
                served.size,
                served.last_modified,
                served.cache_control,
                served.link,
                f"{blobs}/{served.digest}",
                served.gzip_size,
            )
        self.generation = reply.generation
        changed = len(reply.documents) + len(reply.removed)
        log.info(
            "built %d feeds from %d records (%d rejected, %d read); %d files written, "
            "%d documents changed (%.2f s + %.2f s to hash)",
            reply.stats["feeds"],
            reply.stats["records"],
            reply.stats["rejected"],
            reply.read,
            reply.written,
            changed,
            *reply.seconds,
        )
        return Snapshot(documents=documents, built_at=reply.built_at, stats=reply.stats)

    def close(self) -> None:
        """Stop the build processes and let the served folder go."""
        self.children.close()
        self._serving.release()

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


class RebuildFailed(FeedsError):
    """A build process's failure: its description, and where a bug was raised."""

    def __init__(self, error: str, trace: str) -> None:
        super().__init__(error)
        self.trace = trace


class FirstBuildFailed(FeedsError):
    """The first build failed: nothing is served. Says why, with where a bug was raised."""

    def __init__(self, error: Exception) -> None:
        super().__init__(describe(error))
        self.trace = error.trace if isinstance(error, RebuildFailed) else ""


def served_folder(settings: Settings) -> Path:
    """The served folder of ``settings`` (see ``child.py``): ``.feeds-cache.serving/`` by
    default, beside the build cache like the history."""
    return settings.cache_file.with_suffix(".serving")


class ServedFolder:
    """The served folder this server holds (an ``flock``), or a temporary one of its own when
    another server holds it."""

    def __init__(self) -> None:
        self.wanted: Path | None = None
        self.folder: Path | None = None
        self._lock: int | None = None
        self._temporary = False

    def take(self, wanted: Path) -> Path:
        if wanted == self.wanted and self.folder is not None:
            return self.folder
        self.release()
        self.wanted = wanted
        wanted.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(wanted, os.O_RDONLY)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(descriptor)
            self.folder = Path(tempfile.mkdtemp(prefix="feeds-serving-"))
            self._temporary = True
            log.info(
                "%s is another server's; this one builds in %s",
                display(wanted),
                self.folder,
            )
            return self.folder
        self._lock, self.folder = descriptor, wanted
        return wanted

    def release(self) -> None:
        if self._lock is not None:
            os.close(self._lock)  # the flock goes with it
            self._lock = None
        if self._temporary and self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
        self._temporary = False
        self.folder = self.wanted = None


class Children:
    """The build processes: one building at a time, and a spare started ahead (imports done,
    blocked on its stdin) so that a rebuild does not wait for Python to start.

    Processes are started from the event loop's thread, which lives as long as the server: a
    child asks the kernel to kill it when the thread that started it ends
    (``PR_SET_PDEATHSIG``)."""

    def __init__(self) -> None:
        self.spare: subprocess.Popen[bytes] | None = None
        self.building: subprocess.Popen[bytes] | None = None

    def _ready(self) -> subprocess.Popen[bytes]:
        if self.spare is None or self.spare.poll() is not None:
            self.spare = subprocess.Popen(
                [sys.executable, "-P", "-c", CHILD],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                start_new_session=True,  # Ctrl-C stops the server, which stops its children
            )
        return self.spare

    async def run(self, request: Request) -> Reply:
        """Hand ``request`` to the spare and wait for its reply; :class:`RebuildFailed` when
        it died without one. A new spare is started once it is done, not to compete with it."""
        child = self.building = self._ready()
        self.spare = None
        log.info("building in process %d", child.pid)
        data = pickle.dumps(request, protocol=5)
        try:
            reply = await anyio.to_thread.run_sync(_exchange, child, data, abandon_on_cancel=True)
        except anyio.get_cancelled_exc_class():  # the server stops
            child.kill()
            self.building = None
            raise
        except BaseException:
            self.building = None
            self._ready()
            raise
        self.building = None
        self._ready()
        return reply

    def stop_building(self) -> None:
        """Kill the build in progress, from any thread: its rebuild fails at once."""
        child = self.building
        if child is not None and child.poll() is None:
            child.kill()

    def close(self) -> None:
        for child in (self.spare, self.building):
            if child is not None and child.poll() is None:
                child.kill()
                child.wait()
            if child is not None:
                for pipe in (child.stdin, child.stdout):
                    if pipe is not None:
                        pipe.close()
        self.spare = self.building = None


def _exchange(child: subprocess.Popen[bytes], data: bytes) -> Reply:
    assert child.stdin is not None
    assert child.stdout is not None
    with contextlib.suppress(BrokenPipeError):
        child.stdin.write(data)
        child.stdin.close()
    answer = child.stdout.read()
    child.stdout.close()
    code = child.wait()
    if code != 0 or not answer:
        how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
        raise RebuildFailed(f"the build process {child.pid} {how} before it answered", "")
    reply = pickle.loads(answer)
    assert isinstance(reply, Reply)
    return reply
