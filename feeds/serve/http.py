"""What the app serves, computed once per changed document: validators, headers, variants.

Pure: a :class:`Prepared` document is made from its digest, size, Last-Modified and policy, and
names the file that holds its bytes (a blob of the served folder, see ``child.py``); the app
reads the bytes per request (``bodies.py``). The rules (an ETag is the hash of the bytes,
Last-Modified moves only when the bytes change, and only forward: :func:`last_modified`) are
tested without a server or a clock. The history is kept across restarts by ``history.py``.
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime

from feeds.layout import INDEX, content_type

# Below this size the gzip header costs more than it saves.
MIN_COMPRESS = 1024
# Chromium shows application/rss+xml and application/atom+xml as plain text; browsers that ask
# for HTML get the same bytes as XML, shown as an XML tree (the feed's HTML page is its view).
STYLED = (".rss", ".atom")
BROWSER_TYPE = b"application/xml; charset=utf-8"
Headers = tuple[tuple[bytes, bytes], ...]
History = Mapping[str, tuple[str, datetime]]
"""Every path ever served (``/all.rss``) -> the digest and Last-Modified it was last served with."""
SECOND = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class Variant:
    """One encoding of a document, with the headers of its 200 and 304 responses ready; its
    bytes stay in a file (``Prepared.blob``, ``.gz`` beside it for gzip)."""

    etag: str
    encoding: str | None
    size: int
    ok_headers: Headers
    not_modified_headers: Headers


@dataclass(slots=True)
class Prepared:
    """A document as served: its validators and headers, and the file that holds its bytes.

    ``gzip`` (and the browser's gzip variant) is None while the document is too small to
    compress, or while its gzip body is not made yet (``packable``): the app makes it on the
    first request that asks, once per digest, and fills it in here."""

    path: str
    digest: str
    size: int
    last_modified: datetime
    blob: str
    identity: Variant
    gzip: Variant | None
    browser: tuple[Variant, Variant | None] | None = None
    """The identity and gzip variants served as ``application/xml`` to browsers (feeds only)."""
    common: Headers = ()

    @property
    def packable(self) -> bool:
        """Worth compressing, and not compressed yet."""
        return self.gzip is None and self.size >= MIN_COMPRESS


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything one build serves, swapped in whole so a request sees one build or the next."""

    documents: Mapping[str, Prepared]
    built_at: datetime
    stats: Mapping[str, int]


def last_modified(digest: str, served: tuple[str, datetime] | None, fresh: datetime) -> datetime:
    """Last-Modified of the bytes ``digest`` at a path last served as ``served`` (its digest
    and Last-Modified; None: never served).

    Unchanged bytes keep what was served. Changed or new ones get ``fresh`` (now; at a first
    start, for a path never served, the time the existing output recorded or the newest entry's
    time), and never go back: at least one second more than what was served, so no
    If-Modified-Since can match them."""
    if served is not None and served[0] == digest:
        return served[1]
    changed = whole_seconds(fresh)
    if served is not None and changed <= served[1]:
        changed = served[1] + SECOND
    return changed


def make_document(
    path: str,
    digest: str,
    size: int,
    last_modified: datetime,
    policy: str,
    link: str | None,
    blob: str,
    gzip_size: int | None = None,
) -> Prepared:
    """The document of ``path`` whose bytes (``size`` of them) are in the file ``blob``;
    ``gzip_size`` is the size of its gzip body ``blob + ".gz"`` when it is made."""
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
    document = Prepared(
        path=path,
        digest=digest,
        size=size,
        last_modified=last_modified,
        blob=blob,
        identity=_variant(size, f'"{digest}"', None, common),
        gzip=None,
        common=common,
    )
    if path.endswith(STYLED):
        # Another representation, so other ETags: caches must not answer one with the other.
        xml = ((b"content-type", BROWSER_TYPE), *common[1:])
        document.browser = (_variant(size, f'"{digest}-xml"', None, xml), None)
    if gzip_size is not None and size >= MIN_COMPRESS:
        add_gzip(document, gzip_size)
    return document


def add_gzip(document: Prepared, gzip_size: int) -> None:
    """Fill in the gzip variants of ``document``, whose gzip body has ``gzip_size`` bytes."""
    digest, common = document.digest, document.common
    document.gzip = _variant(gzip_size, f'"{digest}-gz"', "gzip", common)
    if document.browser is not None:
        xml = ((b"content-type", BROWSER_TYPE), *common[1:])
        plain = document.browser[0]
        document.browser = (plain, _variant(gzip_size, f'"{digest}-xml-gz"', "gzip", xml))


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


def _variant(size: int, etag: str, encoding: str | None, common: Headers) -> Variant:
    validators = ((b"etag", etag.encode()),)
    coding = ((b"content-encoding", encoding.encode()),) if encoding else ()
    ok = common + validators + coding + ((b"content-length", str(size).encode()),)
    # RFC 9110 15.4.5: what a cache needs to refresh its copy, nothing more (each header costs).
    not_modified = tuple(h for h in common if h[0] in (b"cache-control", b"vary")) + validators
    return Variant(
        etag=etag, encoding=encoding, size=size, ok_headers=ok, not_modified_headers=not_modified
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


def whole_seconds(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)
