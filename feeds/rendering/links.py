"""Where each document is published: paths and absolute URLs, shared by every renderer."""

from __future__ import annotations

import re
from collections.abc import Iterable

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
STYLESHEET = "feed.xsl"
_CONTENT_TYPES = {
    ".rss": MEDIA_TYPES["rss"],
    ".atom": MEDIA_TYPES["atom"],
    ".json": MEDIA_TYPES["json"],
    ".opml": "text/x-opml",
    ".html": "text/html",
    ".xsl": "text/xsl",
}


def feed_path(feed: FeedInfo, fmt: str) -> str:
    """``topics/computer-vision.atom``: the file's path in the output folder."""
    return feed.path + EXTENSIONS[fmt]


def feed_url(settings: Settings, feed: FeedInfo, fmt: str) -> str:
    return settings.base_url + feed_path(feed, fmt)


def history_links(settings: Settings, feed: FeedInfo, fmt: str) -> list[tuple[str, str]]:
    """(rel, URL) of the RFC 5005 links of a document: ``current`` on archive pages, then
    ``prev-archive`` and ``next-archive`` where those pages exist."""
    paging = feed.paging
    extension = EXTENSIONS[fmt]
    links = []
    if paging.archive:
        links.append(("current", settings.base_url + paging.current + extension))
    if paging.prev:
        links.append(("prev-archive", page_url(settings, paging.current, paging.prev, fmt)))
    if paging.next:
        links.append(("next-archive", page_url(settings, paging.current, paging.next, fmt)))
    return links


def hubs(settings: Settings, feed: FeedInfo) -> tuple[str, ...]:
    """The WebSub hubs a document advertises: those of the settings on subscription documents;
    archive pages never change, so nobody subscribes to them."""
    return () if feed.paging.archive else settings.hubs


def page_url(settings: Settings, current: str, number: int, fmt: str) -> str:
    return f"{settings.base_url}archive/{current}/{number}{EXTENSIONS[fmt]}"


def subscription_url(settings: Settings, feed: FeedInfo, fmt: str) -> str:
    """The URL of the feed's subscription document, also from one of its archive pages."""
    return settings.base_url + feed.paging.current + EXTENSIONS[fmt]


# A year: the longest max-age caches honour; sealed archive pages never change.
SEALED_MAX_AGE = 365 * 24 * 3600


def cache_control(max_age: int, *, immutable: bool = False) -> str:
    """The Cache-Control of a document: ``max_age`` seconds, or a year and ``immutable`` for a
    sealed archive page (the same policy whether the app or object storage serves it)."""
    if immutable:
        return f"public, max-age={SEALED_MAX_AGE}, immutable"
    return f"public, max-age={max_age}"


# archive/<feed path>/<n>.<ext>: page n of a feed's RFC 5005 archive.
_PAGE = re.compile(r"archive/(.+)/([1-9][0-9]*)(\.[a-z]+)")


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


def grouping_opml(folder: str) -> str:
    """``topics.opml``: the OPML of one grouping's feeds, named from its folder."""
    return folder + ".opml"


def stylesheet_href(path: str) -> str:
    """The stylesheet's URL relative to the document at ``path`` (``../../feed.xsl``).

    Relative, so a browser fetches it from wherever the feed was served (same origin, which
    XSLT requires), whatever ``base_url`` says.
    """
    return "../" * path.count("/") + STYLESHEET


def content_type(path: str) -> str:
    """The Content-Type header for an output file, charset included."""
    extension = path[path.rfind(".") :]
    return f"{_CONTENT_TYPES.get(extension, 'application/octet-stream')}; charset=utf-8"
