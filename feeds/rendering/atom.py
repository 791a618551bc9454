"""Atom 1.0 (RFC 4287) with Media RSS thumbnails."""

from __future__ import annotations

from collections.abc import Sequence

from feeds import GENERATOR
from feeds.dates import rfc3339
from feeds.layout import (
    MEDIA_TYPES,
    feed_url,
    history_links,
    hubs,
    subscription_url,
)
from feeds.model import Author, Entry, FeedInfo
from feeds.rendering.rss import history_marks, thumbnail
from feeds.rendering.xml import (
    DECLARATION,
    attr,
    cdata,
    document,
    escape_attr,
    escape_text,
    leaf,
)
from feeds.settings import Settings

# What no feed changes in a document.
_NAMESPACES = (
    ' xmlns="http://www.w3.org/2005/Atom"'
    ' xmlns:fh="http://purl.org/syndication/history/1.0"'
    ' xmlns:media="http://search.yahoo.com/mrss/"'
)
_CLOSE = b"</feed>\n"
_TYPE = escape_attr(MEDIA_TYPES["atom"])
_GENERATOR = "  " + leaf("generator", GENERATOR, escape_text)


def render(feed: FeedInfo, settings: Settings, fragments: Sequence[bytes]) -> bytes:
    """The feed, with its entries' ``fragments`` (from :func:`item`) in order."""
    head = [
        DECLARATION,
        f"<feed{_NAMESPACES}{attr('xml:lang', settings.language)}>",
        # Archive pages are documents of the same feed (RFC 5005), so they share its id.
        "  " + leaf("id", subscription_url(settings, feed, "atom"), escape_text),
        "  " + leaf("title", feed.title, escape_text, ' type="text"'),
    ]
    if settings.description:
        head.append(f'  <subtitle type="text">{escape_text(settings.description)}</subtitle>')
    head.append("  " + leaf("updated", rfc3339(feed.updated), escape_text))
    head += _links(feed, settings)
    head += (_author(settings.owner, "  "), _GENERATOR, *history_marks(feed.paging, "  "))
    return document(head, fragments, _CLOSE)


def _links(feed: FeedInfo, settings: Settings) -> list[str]:
    """The feed's links: to its site, to itself, to its RFC 5005 history, to its WebSub hubs."""
    self_url = escape_attr(feed_url(settings, feed, "atom"))
    return [
        # The alternate link first: clients that take a feed's first link as its site would
        # otherwise show the feed's own URL (the entries' alternate links are first too).
        f'  <link rel="alternate" type="text/html" href="{escape_attr(settings.home)}"/>',
        f'  <link rel="self" type="{_TYPE}" href="{self_url}"/>',
        *(
            f'  <link rel="{rel}" type="{_TYPE}" href="{escape_attr(url)}"/>'
            for rel, url in history_links(settings, feed, "atom")
        ),
        *(f'  <link rel="hub" href="{escape_attr(hub)}"/>' for hub in hubs(settings, feed)),
    ]


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
        lines.append(_author(entry.author, "    "))
    lines += [f'    <category term="{escape_attr(name)}"/>' for name in entry.categories]
    if entry.summary:
        lines.append(f'    <summary type="text">{escape_text(entry.summary)}</summary>')
    lines.append(f'    <content type="html">{cdata(html)}</content>')
    if entry.images:
        lines.append("    " + thumbnail(entry.images[0]))
    lines.append("  </entry>")
    return "\n".join(lines).encode("utf-8")


def _author(person: Author, pad: str) -> str:
    """The feed's ``<author>`` at ``pad``, or an entry's one level further in."""
    lines = [f"{pad}<author>", f"{pad}  " + leaf("name", person.name, escape_text)]
    if person.url:
        lines.append(f"{pad}  <uri>{escape_text(person.url)}</uri>")
    if person.email:
        lines.append(f"{pad}  <email>{escape_text(person.email)}</email>")
    lines.append(f"{pad}</author>")
    return "\n".join(lines)
