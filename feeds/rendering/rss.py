"""RSS 2.0 with the content, Dublin Core, Atom (self link) and Media RSS extensions.

Escaping: text elements (``title``, ``description``, ``category``, ``dc:creator``,
``media:title``...) write ``&`` and ``<`` as ``&#x26;`` and ``&#x3C;`` (RSS Best Practices
Profile). URL-valued elements (``link``, ``guid``, ``docs``) are :class:`Url` and write ``&`` as
``&amp;``, as do all attributes (``enclosure``/``media:*`` ``url``, ``atom:link`` ``href``):
some widely used parsers decode only the named entities, and a URL is what they must get right.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from feeds import GENERATOR
from feeds.dates import rfc822
from feeds.layout import (
    MEDIA_TYPES,
    feed_path,
    feed_url,
    history_links,
    hubs,
    stylesheet_href,
)
from feeds.model import Entry, FeedInfo
from feeds.rendering.xml import CData, Element, Url, el, fragment, serialize, slot
from feeds.settings import Settings

NAMESPACES = {
    "xmlns:atom": "http://www.w3.org/2005/Atom",
    "xmlns:content": "http://purl.org/rss/1.0/modules/content/",
    "xmlns:dc": "http://purl.org/dc/elements/1.1/",
    "xmlns:fh": "http://purl.org/syndication/history/1.0",
    "xmlns:media": "http://search.yahoo.com/mrss/",
}


def render(feed: FeedInfo, settings: Settings, fragments: Sequence[bytes]) -> bytes:
    """The feed, with its entries' ``fragments`` (from :func:`item`) in order."""
    owner = settings.owner
    channel = el(
        "channel",
        None,
        el("title", feed.title),
        el("link", Url(settings.home)),
        el("description", settings.description or feed.title),
        el("atom:link", href=feed_url(settings, feed, "rss"), rel="self", type=MEDIA_TYPES["rss"]),
        *(
            el("atom:link", href=url, rel=rel, type=MEDIA_TYPES["rss"])
            for rel, url in history_links(settings, feed, "rss")
        ),
        *(el("atom:link", href=hub, rel="hub") for hub in hubs(settings, feed)),
        el("language", settings.language),
        el("managingEditor", f"{owner.email} ({owner.name})") if owner.email else None,
        el("lastBuildDate", rfc822(feed.updated)) if fragments else None,
        el("generator", GENERATOR),
        el("docs", Url("https://www.rssboard.org/rss-specification")),
        el("ttl", str(settings.ttl_minutes)),
        el("fh:archive") if feed.paging.archive else None,
        el("fh:complete") if feed.paging.complete else None,
        slot(),
    )
    root = el("rss", None, channel, version="2.0", **NAMESPACES)
    stylesheet = stylesheet_href(feed_path(feed, "rss"))
    return serialize(root, hex_refs=True, fragments=fragments, stylesheet=stylesheet)


def item(entry: Entry, html: str) -> bytes:
    return fragment(_item(entry, html), 2, hex_refs=True)


def _item(entry: Entry, html: str) -> Element:
    lead = entry.images[0] if entry.images else None
    return el(
        "item",
        None,
        el("title", entry.title),
        el("link", Url(entry.url)),
        # Related links as in Atom, so the browser view and readers get them without the HTML.
        *(
            el("atom:link", rel="related", type="text/html", href=link.url, title=link.title)
            for link in entry.related
        ),
        # RSS readers treat description as HTML, so plain text is escaped once more to be shown
        # as written rather than run. Without an excerpt the HTML content is the description
        # (validators want a description before any content:encoded).
        el(
            "description",
            escape(entry.summary, quote=False) if entry.summary else html,
        ),
        el("content:encoded", CData(html)) if entry.summary and html else None,
        el("dc:creator", entry.author.name) if entry.author else None,
        *(el("category", name) for name in entry.categories),
        el("guid", Url(entry.id), isPermaLink="false"),
        el("pubDate", rfc822(entry.published)),
        # RSS allows one enclosure an item; every image is in Media RSS below.
        el("enclosure", url=lead.url, length="0", type=lead.media_type) if lead else None,
        *(
            el(
                "media:content",
                None,
                el("media:title", image.title, type="plain") if image.title else None,
                url=image.url,
                type=image.media_type,
                medium="image",
                width=image.width,
                height=image.height,
            )
            for image in entry.images
        ),
        el("media:thumbnail", url=lead.url, width=lead.width, height=lead.height) if lead else None,
    )
