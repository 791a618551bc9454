"""``feeds serve --workers N``: one builder, N uvicorn worker processes serving what it built.

The parent process builds (and with ``--watch`` rebuilds on change) exactly as the one-process
server does, and publishes every outcome to a store in a private folder (feeds/serve/store.py): a
new build, or only a new status after a failed rebuild. The workers are uvicorn's, started
from the app factory ``feeds.app:from_snapshot_dir``; they load the current generation and
follow new ones, and never build. So N workers cost one build, not N racing ones, and they
all serve the same bytes with the same ETag and Last-Modified.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import logging.config
import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

import anyio.to_thread

from feeds.errors import FeedsError
from feeds.serve.app import SNAPSHOT_DIR
from feeds.serve.builder import FeedServer, FirstBuildFailed, describe
from feeds.serve.protocol import uvicorn_options
from feeds.serve.store import Store
from feeds.settings import Settings

log = logging.getLogger("feeds")
FACTORY = "feeds.app:from_snapshot_dir"
# A dict, not basicConfig, because uvicorn applies it again in each spawned worker.
LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(levelname)s:     %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"level": "INFO", "handlers": ["stderr"]},
}


class Builder(FeedServer):
    """The one-process server's build and watch, publishing each outcome to the store."""

    def __init__(
        self,
        settings: Settings,
        settings_file: Path | None,
        *,
        write: bool,
        store: Store,
        overrides: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(settings, settings_file, write=write, overrides=overrides)
        self.store = store
        self._publishing = asyncio.Lock()  # the store is written by one thread at a time

    async def rebuild(self) -> bool:
        built = await super().rebuild()  # raises only when the first build fails
        return await self._publish() and built

    async def status_changed(self) -> None:
        await self._publish()

    async def _publish(self) -> bool:
        """Hand the current snapshot and status to the workers as the next generation."""
        async with self._publishing:
            snapshot = self.snapshot
            assert snapshot is not None
            publish = partial(
                self.store.publish, snapshot, builds=self.builds, last_error=self.last_error
            )
            try:
                await anyio.to_thread.run_sync(publish)
            except Exception as e:
                if self.store.generation <= 1:
                    raise
                log.error("cannot hand build %d to the workers: %s", self.builds, describe(e))
                return False
            return True


class BuilderThread(threading.Thread):
    """Runs the builder's event loop beside uvicorn's process supervisor (the main thread)."""

    def __init__(self, builder: Builder, *, watch: bool) -> None:
        super().__init__(name="feeds-builder", daemon=True)
        self.builder = builder
        self.watch = watch
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._finish: asyncio.Event | None = None

    def run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._finish = asyncio.Event()
        try:
            await self.builder.rebuild()
        except BaseException as e:  # handed to the main thread by first_build()
            self.error = e
            return
        finally:
            self.ready.set()
            if self.error is not None:
                self.builder.close()
        watching = asyncio.ensure_future(self.builder.watch()) if self.watch else None
        if watching is not None:
            watching.add_done_callback(_report_end)
        try:
            await self._finish.wait()
        finally:
            if watching is not None:
                watching.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watching
            self.builder.close()

    def first_build(self) -> None:
        """Start, and wait for the first build and its publication; raise what stopped them."""
        self.start()
        self.ready.wait()
        if self.error is not None:
            raise self.error

    def stop(self) -> None:
        if not self.ready.is_set():  # stopped during the first build (Ctrl-C): not to wait for it
            self.builder.children.stop_building()
        loop, stop = self._loop, self._finish
        if loop is not None and stop is not None and self.is_alive():
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stop.set)
        self.join(timeout=10)


def _report_end(watching: asyncio.Future[None]) -> None:
    # watch() runs until cancelled; if a bug ends it anyway, that must not go unseen.
    error = None if watching.cancelled() else watching.exception()
    if error is not None:
        log.error("rebuilds stopped: %s", describe(error), exc_info=error)


def serve(
    settings: Settings,
    settings_file: Path | None,
    *,
    workers: int,
    watch: bool,
    write: bool,
    sock: socket.socket,
    access_log: bool,
    overrides: Mapping[str, Any] | None = None,
) -> None:
    """Build, then serve on ``sock`` with ``workers`` uvicorn processes until a signal stops
    uvicorn. :class:`FirstBuildFailed` if the first build fails."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    logging.config.dictConfig(LOG_CONFIG)
    folder = Path(tempfile.mkdtemp(prefix="feeds-serve-"))
    builder = BuilderThread(
        Builder(settings, settings_file, write=write, store=Store(folder), overrides=overrides),
        watch=watch,
    )
    try:
        try:
            builder.first_build()
        except (FeedsError, OSError) as e:
            raise FirstBuildFailed(e) from e
        log.info("%d workers serve the builds published in %s", workers, folder)
        os.environ[SNAPSHOT_DIR] = str(folder)  # inherited by the spawned workers
        host, port = sock.getsockname()[:2]
        config = uvicorn.Config(
            FACTORY,
            factory=True,
            workers=workers,
            host=host,
            port=port,
            server_header=False,
            log_config=LOG_CONFIG,
            access_log=access_log,
            **uvicorn_options(),
        )
        # uvicorn.run would bind the address again: it is bound already, before the build.
        Multiprocess(config, sockets=[sock]).run()
    finally:
        try:
            builder.stop()
        finally:
            shutil.rmtree(folder, ignore_errors=True)
