"""Atom 1.0 (RFC 4287) with Media RSS thumbnails."""

from __future__ import annotations

from collections.abc import Sequence

from feeds import GENERATOR
from feeds.dates import rfc3339
from feeds.layout import (
    MEDIA_TYPES,
    feed_path,
    feed_url,
    history_links,
    hubs,
    stylesheet_href,
    subscription_url,
)
from feeds.model import Author, Entry, FeedInfo
from feeds.rendering.xml import CData, Element, el, fragment, serialize, slot
from feeds.settings import Settings


def render(feed: FeedInfo, settings: Settings, fragments: Sequence[bytes]) -> bytes:
    """The feed, with its entries' ``fragments`` (from :func:`item`) in order."""
    self_url = feed_url(settings, feed, "atom")
    root = el(
        "feed",
        None,
        # Archive pages are documents of the same feed (RFC 5005), so they share its id.
        el("id", subscription_url(settings, feed, "atom")),
        el("title", feed.title, type="text"),
        el("subtitle", settings.description, type="text") if settings.description else None,
        el("updated", rfc3339(feed.updated)),
        # The alternate link first: clients that take a feed's first link as its site would
        # otherwise show the feed's own URL (the entries' alternate links are first too).
        el("link", rel="alternate", type="text/html", href=settings.home),
        el("link", rel="self", type=MEDIA_TYPES["atom"], href=self_url),
        *(
            el("link", rel=rel, type=MEDIA_TYPES["atom"], href=url)
            for rel, url in history_links(settings, feed, "atom")
        ),
        *(el("link", rel="hub", href=hub) for hub in hubs(settings, feed)),
        author(settings.owner),
        el("generator", GENERATOR),
        el("fh:archive") if feed.paging.archive else None,
        el("fh:complete") if feed.paging.complete else None,
        slot(),
        xmlns="http://www.w3.org/2005/Atom",
        **{
            "xmlns:fh": "http://purl.org/syndication/history/1.0",
            "xmlns:media": "http://search.yahoo.com/mrss/",
            "xml:lang": settings.language,
        },
    )
    return serialize(root, fragments=fragments, stylesheet=stylesheet_href(feed_path(feed, "atom")))


def author(person: Author) -> Element:
    return el(
        "author",
        None,
        el("name", person.name),
        el("uri", person.url) if person.url else None,
        el("email", person.email) if person.email else None,
    )


def item(entry: Entry, html: str) -> bytes:
    return fragment(_entry(entry, html), 1)


def _entry(entry: Entry, html: str) -> Element:
    lead = entry.images[0] if entry.images else None
    return el(
        "entry",
        None,
        el("id", entry.id),
        el("title", entry.title, type="text"),
        el("updated", rfc3339(entry.published)),
        el("published", rfc3339(entry.published)),
        el("link", rel="alternate", type="text/html", href=entry.url),
        *(
            el("link", rel="enclosure", type=image.media_type, href=image.url)
            for image in entry.images
        ),
        *(
            el("link", rel="related", type="text/html", href=link.url, title=link.title)
            for link in entry.related
        ),
        author(entry.author) if entry.author else None,
        *(el("category", term=name) for name in entry.categories),
        el("summary", entry.summary, type="text") if entry.summary else None,
        el("content", CData(html), type="html"),
        el("media:thumbnail", url=lead.url, width=lead.width, height=lead.height) if lead else None,
    )
