"""RSS 2.0 with the content, Dublin Core, Atom (self link) and Media RSS extensions.

Escaping: text elements (``title``, ``description``, ``category``, ``dc:creator``,
``media:title``...) write ``&`` and ``<`` as ``&#x26;`` and ``&#x3C;`` (RSS Best Practices
Profile). URL-valued elements (``link``, ``guid``, ``docs``) keep ``&`` as ``&amp;``
(:func:`~feeds.rendering.xml.escape_text`), as do all attributes (``enclosure``/``media:*``
``url``, ``atom:link`` ``href``): some widely used parsers decode only the named entities, and
a URL is what they must get right.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from feeds import GENERATOR
from feeds.dates import rfc822
from feeds.layout import (
    MEDIA_TYPES,
    feed_url,
    history_links,
    hubs,
)
from feeds.model import Entry, FeedInfo, Image, Paging
from feeds.rendering.xml import (
    DECLARATION,
    attr,
    cdata,
    document,
    escape_attr,
    escape_hex,
    escape_text,
    leaf,
)
from feeds.settings import Settings

NAMESPACES = {
    "xmlns:atom": "http://www.w3.org/2005/Atom",
    "xmlns:content": "http://purl.org/rss/1.0/modules/content/",
    "xmlns:dc": "http://purl.org/dc/elements/1.1/",
    "xmlns:fh": "http://purl.org/syndication/history/1.0",
    "xmlns:media": "http://search.yahoo.com/mrss/",
}
# What no feed or setting changes in a document.
_OPEN = '<rss version="2.0"' + "".join(attr(k, v) for k, v in NAMESPACES.items()) + ">"
_CLOSE = b"  </channel>\n</rss>\n"
_TYPE = escape_attr(MEDIA_TYPES["rss"])
_GENERATOR = "    " + leaf("generator", GENERATOR, escape_hex)
_DOCS = "    <docs>https://www.rssboard.org/rss-specification</docs>"


def render(feed: FeedInfo, settings: Settings, fragments: Sequence[bytes]) -> bytes:
    """The feed, with its entries' ``fragments`` (from :func:`item`) in order."""
    head = [
        DECLARATION,
        _OPEN,
        "  <channel>",
        "    " + leaf("title", feed.title, escape_hex),
        f"    <link>{escape_text(settings.home)}</link>",
        "    " + leaf("description", settings.description or feed.title, escape_hex),
        *_links(feed, settings),
        "    " + leaf("language", settings.language, escape_hex),
        *_editor(settings),
    ]
    if fragments:
        head.append("    " + leaf("lastBuildDate", rfc822(feed.updated), escape_hex))
    head += (_GENERATOR, _DOCS, "    " + leaf("ttl", str(settings.ttl_minutes), escape_hex))
    head += history_marks(feed.paging, "    ")
    return document(head, fragments, _CLOSE)


def _links(feed: FeedInfo, settings: Settings) -> list[str]:
    """The channel's Atom links: to itself, to its RFC 5005 history, to its WebSub hubs."""
    self_url = escape_attr(feed_url(settings, feed, "rss"))
    return [
        f'    <atom:link href="{self_url}" rel="self" type="{_TYPE}"/>',
        *(
            f'    <atom:link href="{escape_attr(url)}" rel="{rel}" type="{_TYPE}"/>'
            for rel, url in history_links(settings, feed, "rss")
        ),
        *(f'    <atom:link href="{escape_attr(hub)}" rel="hub"/>' for hub in hubs(settings, feed)),
    ]


def _editor(settings: Settings) -> list[str]:
    """``managingEditor``, which RSS wants as an email address: none without one."""
    owner = settings.owner
    if not owner.email:
        return []
    return ["    " + leaf("managingEditor", f"{owner.email} ({owner.name})", escape_hex)]


def history_marks(paging: Paging, pad: str) -> list[str]:
    """The RFC 5005 marks of an archive page and of a complete feed (in Atom's too)."""
    marks = []
    if paging.archive:
        marks.append(pad + "<fh:archive/>")
    if paging.complete:
        marks.append(pad + "<fh:complete/>")
    return marks


def item(entry: Entry, html: str) -> bytes:
    """The entry as an ``<item>`` of :func:`render`'s channel, two levels in."""
    lines = [
        "    <item>",
        "      " + leaf("title", entry.title, escape_hex),
        f"      <link>{escape_text(entry.url)}</link>",
    ]
    # Related links as in Atom, so the browser view and readers get them without the HTML.
    lines += [
        f'      <atom:link rel="related" type="text/html" href="{escape_attr(link.url)}"'
        f' title="{escape_attr(link.title)}"/>'
        for link in entry.related
    ]
    # RSS readers treat description as HTML, so plain text is escaped once more to be shown
    # as written rather than run. Without an excerpt the HTML content is the description
    # (validators want a description before any content:encoded).
    description = escape(entry.summary, quote=False) if entry.summary else html
    lines.append("      " + leaf("description", description, escape_hex))
    if entry.summary and html:
        lines.append(f"      <content:encoded>{cdata(html)}</content:encoded>")
    if entry.author:
        lines.append("      " + leaf("dc:creator", entry.author.name, escape_hex))
    lines += ["      " + leaf("category", name, escape_hex) for name in entry.categories]
    lines.append(f'      <guid isPermaLink="false">{escape_text(entry.id)}</guid>')
    lines.append(f"      <pubDate>{escape_hex(rfc822(entry.published))}</pubDate>")
    if entry.images:
        lead = entry.images[0]
        # RSS allows one enclosure an item; every image is in Media RSS below.
        lines.append(
            f'      <enclosure url="{escape_attr(lead.url)}" length="0"'
            f' type="{escape_attr(lead.media_type)}"/>'
        )
        lines += [_media_content(image) for image in entry.images]
        lines.append("      " + thumbnail(lead))
    lines.append("    </item>")
    return "\n".join(lines).encode("utf-8")


def thumbnail(image: Image) -> str:
    """The Media RSS thumbnail of an entry (in Atom's too)."""
    return f'<media:thumbnail url="{escape_attr(image.url)}"{_size(image)}/>'


def _media_content(image: Image) -> str:
    head = (
        f'      <media:content url="{escape_attr(image.url)}"'
        f' type="{escape_attr(image.media_type)}" medium="image"{_size(image)}'
    )
    if not image.title:
        return head + "/>"
    title = f'        <media:title type="plain">{escape_hex(image.title)}</media:title>'
    return f"{head}>\n{title}\n      </media:content>"


def _size(image: Image) -> str:
    return attr("width", image.width) + attr("height", image.height)
