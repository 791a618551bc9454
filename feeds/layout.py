"""The output layout: where every document is published, what a path says about it, in which
order documents go into place, and how they are served (media type, cache policy).

Every other module asks this one: the renderers for paths and URLs, the build and the writer
for the order, the app, ``feeds publish`` and nginx's tests for media types and Cache-Control,
``feeds diff`` and ``feeds ping`` to read a path back.

    index.html  feeds.opml  topics.opml ...                  the site documents
    all.rss  topics/<slug>.atom  providers/<slug>.json ...   subscription documents
    all.html  topics/<slug>.html ...                         each feed's HTML page, beside them
    archive/<feed path>/<n>.<ext>                            RFC 5005 archive pages, 1 the oldest
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass

from feeds.model import FeedInfo
from feeds.settings import Settings

EXTENSIONS = {"rss": ".rss", "atom": ".atom", "json": ".json"}
MEDIA_TYPES = {
    "rss": "application/rss+xml",
    "atom": "application/atom+xml",
    "json": "application/feed+json",
}
INDEX = "index.html"
OPML = "feeds.opml"
PAGE = ".html"
"""The extension of a feed's HTML page, beside its subscription documents (``topics/ai.html``)."""
ARCHIVE = "archive"
FOLDERS = {
    "all": "",
    "topic": "topics",
    "provider": "providers",
    "topic-provider": "topic-providers",
    "custom": "custom",
}
"""The folder of each grouping's subscription documents (``all`` is the one feed at the top)."""
_CONTENT_TYPES = {
    ".rss": MEDIA_TYPES["rss"],
    ".atom": MEDIA_TYPES["atom"],
    ".json": MEDIA_TYPES["json"],
    ".opml": "text/x-opml",
    ".html": "text/html",
}
# A year: the longest max-age caches honour; sealed archive pages never change.
SEALED_MAX_AGE = 365 * 24 * 3600
# archive/<feed path>/<n>.<ext>: page n of a feed's RFC 5005 archive.
_PAGE = re.compile(r"archive/(.+)/([1-9][0-9]*)(\.[a-z]+)")


@dataclass(frozen=True, slots=True)
class Document:
    """What a feed document's path says: its feed, its format, and its archive page number
    (None for the subscription document)."""

    feed: str
    fmt: str
    page: int | None = None


def feed_path(feed: FeedInfo, fmt: str) -> str:
    """``topics/computer-vision.atom``: the file's path in the output folder."""
    return feed.path + EXTENSIONS[fmt]


def page_path(feed: FeedInfo) -> str:
    """``topics/computer-vision.html``: the feed's HTML page, beside its documents."""
    return feed.path + PAGE


def document_paths(feed: FeedInfo, formats: Iterable[str]) -> list[str]:
    """Every file of one planned document: its feed document in each format, and the feed's
    HTML page for a subscription document (archive pages have none: they are thousands, and
    the feed's page links to them)."""
    paths = [feed_path(feed, fmt) for fmt in formats]
    if not feed.paging.archive:
        paths.append(page_path(feed))
    return paths


def relative(source: str, target: str) -> str:
    """The href of ``target`` in a page at ``source`` (both paths in the output folder).

    Relative, so the pages work from file:// and on any host, in any folder.
    """
    return posixpath.relpath(target, posixpath.dirname(source) or ".")


def archive_path(path: str, number: int) -> str:
    """``archive/topics/ai/3``: where page ``number`` of the feed at ``path`` is published."""
    return f"{ARCHIVE}/{path}/{number}"


def grouping_opml(folder: str) -> str:
    """``topics.opml``: the OPML of one grouping's feeds, named from its folder."""
    return folder + ".opml"


def locate(path: str) -> Document | None:
    """The feed document at ``path`` (relative, ``/``-separated), or None for any other file."""
    fmt = next((name for name, ext in EXTENSIONS.items() if path.endswith(ext)), None)
    if fmt is None:
        return None
    stem = path[: -len(EXTENSIONS[fmt])]
    page = None
    if stem.startswith(ARCHIVE + "/"):
        stem, _, number = stem[len(ARCHIVE) + 1 :].rpartition("/")
        if not number.isascii() or not number.isdigit() or number.startswith("0"):
            return None
        page = int(number)
    folder, _, name = stem.rpartition("/")
    if not name or folder not in FOLDERS.values():
        return None
    return Document(stem, fmt, page)


def is_archive_page(path: str) -> bool:
    return path.startswith(ARCHIVE + "/")


def is_subscription_document(path: str) -> bool:
    """Whether people subscribe to ``path``: a feed's own document, not an archive page, the
    index or an OPML."""
    document = locate(path)
    return document is not None and document.page is None


def stage(path: str) -> int:
    """When a document goes into place, written or uploaded: what links to others after what
    it links to, so a link never leads to a file that is not there yet. Archive pages (0), then
    subscription documents (1), the feeds' HTML pages (2), the OPMLs (3) and the index (4)."""
    if is_archive_page(path):
        return 0
    if path == INDEX:
        return 4
    if path.endswith(PAGE):
        return 2
    if path.endswith(".opml"):
        return 3
    return 1


def order(path: str) -> tuple[int, str]:
    """A sort key: documents in :func:`stage` order, by path within a stage."""
    return (stage(path), path)


def sealed_pages(paths: Iterable[str]) -> set[str]:
    """The archive pages among ``paths`` that never change again: page n of a feed is sealed
    once page n + 1 of the same feed exists. From paths alone, so an output folder's manifest
    says which pages are sealed as well as a build does."""
    pages = {}
    for path in paths:
        match = _PAGE.fullmatch(path)
        if match:
            pages[path] = (match[1], int(match[2]), match[3])
    present = set(pages.values())
    return {path for path, (feed, n, ext) in pages.items() if (feed, n + 1, ext) in present}


def content_type(path: str) -> str:
    """The Content-Type header for an output file, charset included."""
    extension = path[path.rfind(".") :]
    return f"{_CONTENT_TYPES.get(extension, 'application/octet-stream')}; charset=utf-8"


def cache_control(max_age: int, *, immutable: bool = False) -> str:
    """The Cache-Control of a document: ``max_age`` seconds, or a year and ``immutable`` for a
    sealed archive page (the same policy whether the app or object storage serves it)."""
    if immutable:
        return f"public, max-age={SEALED_MAX_AGE}, immutable"
    return f"public, max-age={max_age}"


def feed_url(settings: Settings, feed: FeedInfo, fmt: str) -> str:
    return settings.base_url + feed_path(feed, fmt)


def page_url(settings: Settings, current: str, number: int, fmt: str) -> str:
    return settings.base_url + archive_path(current, number) + EXTENSIONS[fmt]


def subscription_url(settings: Settings, feed: FeedInfo, fmt: str) -> str:
    """The URL of the feed's subscription document, also from one of its archive pages."""
    return settings.base_url + feed.paging.current + EXTENSIONS[fmt]


def history_links(settings: Settings, feed: FeedInfo, fmt: str) -> list[tuple[str, str]]:
    """(rel, URL) of the RFC 5005 links of a document: ``current`` on archive pages, then
    ``prev-archive`` and ``next-archive`` where those pages exist."""
    paging = feed.paging
    links = []
    if paging.archive:
        links.append(("current", subscription_url(settings, feed, fmt)))
    if paging.prev:
        links.append(("prev-archive", page_url(settings, paging.current, paging.prev, fmt)))
    if paging.next:
        links.append(("next-archive", page_url(settings, paging.current, paging.next, fmt)))
    return links


def hubs(settings: Settings, feed: FeedInfo) -> tuple[str, ...]:
    """The WebSub hubs a document advertises: those of the settings on subscription documents;
    archive pages never change, so nobody subscribes to them."""
    return () if feed.paging.archive else settings.hubs
