"""What the app serves, computed once per build: bodies, compressed variants, validators, headers.

Pure: a :class:`Snapshot` depends on the built files, the previous snapshot, the history of what
was served and ``now`` only, so the rules (an ETag is the hash of the bytes, Last-Modified moves
only when the bytes change, and only forward) are tested without a server or a clock. The
history is kept across restarts by ``history.py``.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime

from feeds.layout import INDEX, cache_control, content_type

# Below this size the gzip header costs more than it saves.
MIN_COMPRESS = 1024
# Chromium shows application/rss+xml and application/atom+xml as plain text, which would hide
# the feed's browser view (feed.xsl); browsers that ask for HTML get the same bytes as XML.
STYLED = (".rss", ".atom")
BROWSER_TYPE = b"application/xml; charset=utf-8"
Headers = tuple[tuple[bytes, bytes], ...]
History = Mapping[str, tuple[str, datetime]]
"""Every path ever served (``/all.rss``) -> the digest and Last-Modified it was last served with."""
SECOND = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class Variant:
    """One encoding of a document, with the headers of its 200 and 304 responses ready."""

    body: bytes
    etag: str
    encoding: str | None
    ok_headers: Headers
    not_modified_headers: Headers


@dataclass(frozen=True, slots=True)
class Prepared:
    path: str
    digest: str
    last_modified: datetime
    identity: Variant
    gzip: Variant | None
    browser: tuple[Variant, Variant | None] | None = None
    """The identity and gzip variants served as ``application/xml`` to browsers (feeds only)."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything one build serves, swapped in whole so a request sees one build or the next."""

    documents: Mapping[str, Prepared]
    built_at: datetime
    stats: Mapping[str, int]


def make_snapshot(
    files: Mapping[str, bytes],
    *,
    previous: Snapshot | None,
    now: datetime,
    first_seen: Callable[[str, bytes], datetime],
    max_age: int,
    stats: Mapping[str, int],
    sealed: Container[str] = (),
    links: Mapping[str, str] | None = None,
    history: History | None = None,
) -> Snapshot:
    """The snapshot of a build.

    A document whose bytes did not change keeps its variants and Last-Modified from
    ``previous``, or its Last-Modified from ``history`` (what an earlier run served). A changed
    one gets ``now``, and a path never served before gets ``now`` after a rebuild and at
    startup ``first_seen(path, body)``: the time the existing output recorded or the newest
    entry's time. Last-Modified never goes back: changed bytes get at least one second more
    than the path was last served with, so no If-Modified-Since can match them. Documents in
    ``sealed`` (archive pages that never change again) are cached for a year. ``links`` gives
    the ``Link`` header of the documents that have one.
    """
    documents: dict[str, Prepared] = {}
    history = history or {}
    for path, body in files.items():
        key = "/" + path
        digest = hashlib.sha256(body).hexdigest()[:32]
        old = previous.documents.get(key) if previous else None
        if old is not None and old.digest == digest:
            documents[key] = old
            continue
        served = history.get(key)
        if served is not None and served[0] == digest:
            changed = served[1]
        else:
            known = previous is not None or served is not None
            changed = _whole_seconds(now if known else first_seen(path, body))
            for last in (old.last_modified if old else None, served[1] if served else None):
                if last is not None and changed <= last:
                    changed = last + SECOND
        policy = cache_control(max_age, immutable=path in sealed)
        link = links.get(path) if links else None
        documents[key] = make_document(path, body, digest, changed, policy, link)
    return Snapshot(documents=documents, built_at=now, stats=dict(stats))


def updated_history(history: History, snapshot: Snapshot) -> dict[str, tuple[str, datetime]]:
    """``history`` with what ``snapshot`` serves; paths no longer served are kept, so that one
    that comes back never goes back in time."""
    merged = dict(history)
    for path, document in snapshot.documents.items():
        merged[path] = (document.digest, document.last_modified)
    return merged


def make_document(
    path: str,
    body: bytes,
    digest: str,
    last_modified: datetime,
    policy: str,
    link: str | None = None,
    compressed: bytes | None = None,
) -> Prepared:
    """The document of ``body``; ``compressed`` is its gzip body when already made (by
    :func:`gzip_body`), so that a worker process need not compress it again."""
    common: Headers = (
        (b"content-type", content_type(path).encode()),
        (b"last-modified", http_date(last_modified).encode()),
        (b"cache-control", policy.encode()),
        (b"vary", b"Accept-Encoding, Accept" if path.endswith(STYLED) else b"Accept-Encoding"),
        (b"x-content-type-options", b"nosniff"),
    )
    if path != INDEX:
        # Web-based readers fetch feeds from other origins.
        common += ((b"access-control-allow-origin", b"*"),)
    if link is not None:
        common += ((b"link", link.encode("ascii")),)
    identity = _variant(body, f'"{digest}"', None, common)
    if compressed is None:
        compressed = gzip_body(body)
    packed = _variant(compressed, f'"{digest}-gz"', "gzip", common) if compressed else None
    browser = None
    if path.endswith(STYLED):
        # Another representation, so other ETags: caches must not answer one with the other.
        xml = ((b"content-type", BROWSER_TYPE), *common[1:])
        browser = (
            _variant(body, f'"{digest}-xml"', None, xml),
            _variant(compressed, f'"{digest}-xml-gz"', "gzip", xml) if compressed else None,
        )
    return Prepared(
        path=path,
        digest=digest,
        last_modified=last_modified,
        identity=identity,
        gzip=packed,
        browser=browser,
    )


def gzip_body(body: bytes) -> bytes | None:
    """The gzip body served for ``body``, or None when it is too small to be worth it."""
    # mtime=0 keeps the compressed bytes, and so the ETag's meaning, reproducible.
    return gzip.compress(body, compresslevel=6, mtime=0) if len(body) >= MIN_COMPRESS else None


def header(document: Prepared, name: bytes) -> str | None:
    """A header every response of ``document`` carries (``cache-control``, ``link``), or None."""
    for key, value in document.identity.ok_headers:
        if key == name:
            return value.decode("latin-1")
    return None


def _variant(body: bytes, etag: str, encoding: str | None, common: Headers) -> Variant:
    validators = ((b"etag", etag.encode()),)
    coding = ((b"content-encoding", encoding.encode()),) if encoding else ()
    ok = common + validators + coding + ((b"content-length", str(len(body)).encode()),)
    # RFC 9110 15.4.5: what a cache needs to refresh its copy, nothing more (each header costs).
    not_modified = tuple(h for h in common if h[0] in (b"cache-control", b"vary")) + validators
    return Variant(
        body=body, etag=etag, encoding=encoding, ok_headers=ok, not_modified_headers=not_modified
    )


def choose(document: Prepared, accept_encoding: str, accept: str = "") -> Variant:
    """The variant the client accepts: gzip when offered with q > 0 and worth it; for a feed,
    ``application/xml`` when the client asks for HTML (a browser opening it)."""
    identity, packed = document.identity, document.gzip
    if document.browser is not None and wants_html(accept):
        identity, packed = document.browser
    if packed is not None and accepts_gzip(accept_encoding):
        return packed
    return identity


def accepts_gzip(header: str) -> bool:
    star = None
    for name, q in _ranges(header):
        if name in ("gzip", "x-gzip"):
            return q > 0
        if name == "*":
            star = q > 0
    return bool(star)


def wants_html(accept: str) -> bool:
    """Whether an Accept header names HTML: browsers do when they open a page; readers don't."""
    return any(name == "text/html" and q > 0 for name, q in _ranges(accept))


def _ranges(header: str) -> list[tuple[str, float]]:
    """The names of a comma-separated header, lower-cased, with their q-values."""
    ranges = []
    for part in header.split(","):
        name, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        ranges.append((name.strip().lower(), q))
    return ranges


def not_modified(
    variant: Variant,
    last_modified: datetime,
    if_none_match: str | None,
    if_modified_since: str | None,
) -> bool:
    """RFC 9110 13.2.2: If-None-Match, when present, decides; If-Modified-Since only without it."""
    if if_none_match is not None:
        if if_none_match.strip() == "*":
            return True
        return any(_weak(tag) == _weak(variant.etag) for tag in if_none_match.split(","))
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return last_modified <= since
    return False


def _weak(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def _whole_seconds(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)
