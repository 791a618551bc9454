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
from feeds.rendering.rss import thumbnail
from feeds.rendering.xml import (
    Element,
    cdata,
    el,
    escape_attr,
    escape_text,
    leaf,
    serialize,
    slot,
)
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
    """The entry as an ``<entry>`` of :func:`render`'s feed, one level in."""
    published = escape_text(rfc3339(entry.published))
    lines = [
        "  <entry>",
        "    " + leaf("id", entry.id, escape_text),
        "    " + leaf("title", entry.title, escape_text, ' type="text"'),
        f"    <updated>{published}</updated>",
        f"    <published>{published}</published>",
        f'    <link rel="alternate" type="text/html" href="{escape_attr(entry.url)}"/>',
    ]
    lines += [
        f'    <link rel="enclosure" type="{escape_attr(image.media_type)}"'
        f' href="{escape_attr(image.url)}"/>'
        for image in entry.images
    ]
    lines += [
        f'    <link rel="related" type="text/html" href="{escape_attr(link.url)}"'
        f' title="{escape_attr(link.title)}"/>'
        for link in entry.related
    ]
    if entry.author:
        lines.append(_author(entry.author))
    lines += [f'    <category term="{escape_attr(name)}"/>' for name in entry.categories]
    if entry.summary:
        lines.append(f'    <summary type="text">{escape_text(entry.summary)}</summary>')
    lines.append(f'    <content type="html">{cdata(html)}</content>')
    if entry.images:
        lines.append("    " + thumbnail(entry.images[0]))
    lines.append("  </entry>")
    return "\n".join(lines).encode("utf-8")


def _author(person: Author) -> str:
    """:func:`author` as written in an entry."""
    lines = ["    <author>", "      " + leaf("name", person.name, escape_text)]
    if person.url:
        lines.append(f"      <uri>{escape_text(person.url)}</uri>")
    if person.email:
        lines.append(f"      <email>{escape_text(person.email)}</email>")
    lines.append("    </author>")
    return "\n".join(lines)
