"""The bytes the app sends, read from the blobs of the served folder per request, with the
most recently sent kept in memory up to a budget (an LRU), and gzip bodies made on demand.

A document names its blob (``blobs/<digest>``, ``.gz`` beside it for its gzip body). Blobs never
change once written, so a body read once is good for as long as the digest is served. Reads
are plain blocking reads from the event loop: the files are small (a document's byte budget)
and usually in the page cache, as nginx reads them. A gzip body that the build did not make
(archive pages, rarely fetched) is made in a thread on the first request that asks for it,
written beside the blob for every later request and every worker, then served like the others.
"""

from __future__ import annotations

import contextlib
import struct
import zlib
from collections import OrderedDict
from pathlib import Path

import anyio.to_thread

from feeds.errors import StoreError
from feeds.serve.http import Prepared, Variant, add_gzip, gzip_body
from feeds.writing import atomic_write

BUDGET = 64 << 20
"""Bytes of bodies kept in memory by each serving process."""


class Bodies:
    """Bodies by (digest, encoding), the most recently sent first out of the budget last."""

    def __init__(self, budget: int = BUDGET) -> None:
        self.budget = budget
        self.held = 0
        self.broken: set[str] = set()
        """Digests whose blob could not be read (logged once each)."""
        self._bodies: OrderedDict[tuple[str, str | None], bytes] = OrderedDict()

    def read(self, document: Prepared, variant: Variant) -> bytes:
        """The bytes of ``variant``; :class:`StoreError` when its blob is gone or changed."""
        key = (document.digest, variant.encoding)
        body = self._bodies.get(key)
        if body is not None:
            self._bodies.move_to_end(key)
            return body
        file = document.blob if variant.encoding is None else document.blob + ".gz"
        try:
            with open(file, "rb") as f:
                body = f.read()
        except OSError as e:
            raise StoreError(f"{file}: /{document.path}: cannot read the document: {e}") from e
        if len(body) != variant.size:
            raise StoreError(
                f"{file}: /{document.path}: {len(body)} bytes where {variant.size} were built"
            )
        self.keep(key, body)
        return body

    def keep(self, key: tuple[str, str | None], body: bytes) -> None:
        if len(body) > self.budget // 8:
            return  # a huge document would push out many small ones
        self._bodies[key] = body
        self.held += len(body)
        while self.held > self.budget:
            _, dropped = self._bodies.popitem(last=False)
            self.held -= len(dropped)

    async def pack(self, document: Prepared) -> None:
        """Make the gzip variants of ``document`` (read its gzip body when another process
        made it, else compress it, in a thread), and fill them in."""
        body = self.read(document, document.identity)
        packed = await anyio.to_thread.run_sync(_packed, document.blob + ".gz", body)
        if document.gzip is None:
            add_gzip(document, len(packed))
            self.keep((document.digest, "gzip"), packed)


def _packed(file: str, body: bytes) -> bytes:
    """The gzip body of ``body`` kept in ``file``: read when it holds ``body`` (the gzip
    trailer: CRC-32 and size, cheaper than inflating it), else made and written."""
    trailer = struct.pack("<II", zlib.crc32(body), len(body) & 0xFFFFFFFF)
    with contextlib.suppress(OSError), open(file, "rb") as f:
        packed = f.read()
        if packed[-8:] == trailer:
            return packed
    made = gzip_body(body)
    assert made is not None
    with contextlib.suppress(OSError):  # else served from memory, made again elsewhere
        atomic_write(Path(file), made)
    return made
