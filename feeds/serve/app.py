"""The Starlette app of ``feeds serve``, serving built feeds from their blobs, and its factories
(``feeds.app:from_environment`` for any ASGI server, ``feeds.app:from_snapshot_dir`` for the
workers of ``feeds serve --workers``).

The hot path runs before Starlette's stack: one dict lookup, headers prepared at build time, a
304 when the validators match, else the body from the bodies kept in memory or its blob
(``bodies.py``). Everything else (health check, 404, 405) goes through Starlette.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any, Protocol

import anyio.to_thread
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from feeds.dates import rfc3339
from feeds.errors import StoreError
from feeds.layout import INDEX
from feeds.serve.bodies import Bodies
from feeds.serve.builder import FeedServer
from feeds.serve.follower import Follower
from feeds.serve.http import Prepared, Snapshot, accepts_gzip, choose, not_modified
from feeds.settings import Settings, load_settings

ALLOW = (b"allow", b"GET, HEAD")
UNAVAILABLE = (
    (b"content-type", b"text/plain; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"retry-after", b"1"),
)
log = logging.getLogger("feeds")
SNAPSHOT_DIR = "FEEDS_SNAPSHOT_DIR"


class Source(Protocol):
    """What the app serves from: a builder (:class:`FeedServer`) or a worker (:class:`Follower`)."""

    snapshot: Snapshot | None
    builds: int

    @property
    def last_error(self) -> str | None: ...


class FeedsApp(Starlette):
    """A Starlette app whose first step serves built documents.

    The check runs before Starlette's middleware stack, so a feed request costs one dict lookup
    and a prepared set of headers; anything else (health check, 404, 405) is plain Starlette.
    """

    server: Source
    bodies: Bodies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        snapshot = self.server.snapshot
        if scope["type"] == "http" and snapshot is not None:
            path = scope["path"]
            document = snapshot.documents.get("/" + INDEX if path == "/" else path)
            if document is not None:
                await _serve(self.bodies, document, scope, send)
                return
        await super().__call__(scope, receive, send)


async def _serve(bodies: Bodies, document: Prepared, scope: Scope, send: Send) -> None:
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
    if document.packable and accept and accepts_gzip(accept):
        await bodies.pack(document)  # its first gzip request: made once per digest
    variant = choose(document, accept or "", media) if accept or media else document.identity
    if (inm is not None or ims is not None) and not_modified(
        variant, document.last_modified, inm, ims
    ):
        await _send(send, 304, variant.not_modified_headers, b"")
        return
    try:
        body = b"" if method == "HEAD" else bodies.read(document, variant)
    except StoreError as e:
        # Its blob was removed or changed under the server: never send other bytes than the
        # headers promise. Logged once a document; a build that writes it again, or the next
        # start, puts it right.
        if document.digest not in bodies.broken:
            bodies.broken.add(document.digest)
            log.error("cannot serve %s: %s", scope["path"], e)
        await _send(send, 503, UNAVAILABLE, b"Service Unavailable\n")
        return
    await _send(send, 200, variant.ok_headers, body)


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
    return serving(FeedServer(settings, settings_file, write=write), watch=watch)


def serving(server: FeedServer, *, watch: bool) -> FeedsApp:
    """The app serving what ``server`` builds: its first build at startup unless it has one
    already, then, with ``watch``, a rebuild whenever the records or the settings change."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[Mapping[str, Any]]:
        try:
            if server.snapshot is None:
                await server.rebuild()
            async with anyio.create_task_group() as tasks:
                if watch:
                    tasks.start_soon(server.watch)
                yield {}
                tasks.cancel_scope.cancel()
        finally:
            server.close()

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
    app.bodies = Bodies()
    app.state.server = server
    return app


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
