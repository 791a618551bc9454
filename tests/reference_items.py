"""The reference for the renderers: each format's item, document skeleton and the entry's HTML
as they were written before the string templates: trees of ``feeds.rendering.xml.el`` written by
the serializer and escapes of that time, frozen here (JSON Feed's item and document: dicts
through the standard ``json.dumps``).

Kept in the test tree only, for ``test_item_templates``: the product writes a document one way.
Nothing here calls the product's escaping or serializer, so a slip in those (a fast path that
misses a character) shows as a difference instead of being made on both sides.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from html import escape
from typing import Any

from feeds import GENERATOR
from feeds.dates import rfc822, rfc3339
from feeds.layout import (
    MEDIA_TYPES,
    feed_url,
    history_links,
    hubs,
    page_url,
    subscription_url,
)
from feeds.model import Author, Entry, FeedInfo, Image, Related
from feeds.rendering.xml import Element, el
from feeds.settings import Settings


class CData(str):
    """Text written as a CDATA section (the old tree's text types, frozen here)."""

    __slots__ = ()


class Url(str):
    """A URL as an element's text: ``&amp;`` even where other text gets ``&#x26;``."""

    __slots__ = ()


NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")


def xml_safe(text: str) -> str:
    return NOT_XML.sub("", text)


def escape_text(text: str) -> str:
    return xml_safe(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_hex(text: str) -> str:
    return xml_safe(text).replace("&", "&#x26;").replace("<", "&#x3C;").replace(">", "&gt;")


def cdata(text: str) -> str:
    return "<![CDATA[" + xml_safe(text).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def escape_attr(text: str) -> str:
    return (
        escape_text(text)
        .replace('"', "&quot;")
        .replace("\n", "&#10;")
        .replace("\r", "&#13;")
        .replace("\t", "&#9;")
    )


# Where the serializer put a document's entries.
SLOT = "\x00slot"


def slot() -> Element:
    return Element(tag=SLOT, text=None, children=(), attrs=())


def write(node: Element, depth: int, out: list[str], escape: Callable[[str], str]) -> None:
    if node.tag == SLOT:
        out.append(SLOT)
        return
    pad = "  " * depth
    head = node.tag + "".join(f' {k}="{escape_attr(v)}"' for k, v in node.attrs)
    if node.children:
        out.append(f"{pad}<{head}>")
        for child in node.children:
            write(child, depth + 1, out, escape)
        out.append(f"{pad}</{node.tag}>")
    elif isinstance(node.text, CData):
        out.append(f"{pad}<{head}>{cdata(node.text)}</{node.tag}>")
    elif isinstance(node.text, Url):
        out.append(f"{pad}<{head}>{escape_text(node.text)}</{node.tag}>")
    elif node.text:
        out.append(f"{pad}<{head}>{escape(node.text)}</{node.tag}>")
    else:
        out.append(f"{pad}<{head}/>")


def at_depth(node: Element, depth: int, *, hex_refs: bool = False) -> bytes:
    """``node`` as it would appear ``depth`` levels down in a document, without a final newline."""
    lines: list[str] = []
    write(node, depth, lines, escape_hex if hex_refs else escape_text)
    return "\n".join(lines).encode("utf-8")


def serialize(root: Element, fragments: Sequence[bytes], *, hex_refs: bool = False) -> bytes:
    """A whole document, with ``fragments`` at the slot."""
    lines = ['<?xml version="1.0" encoding="utf-8"?>']
    write(root, 0, lines, escape_hex if hex_refs else escape_text)
    before, _, after = ("\n".join(lines) + "\n").partition(SLOT + "\n")
    parts = [before.encode("utf-8"), *(f + b"\n" for f in fragments), after.encode("utf-8")]
    return b"".join(parts)


RSS_NAMESPACES = {
    "xmlns:atom": "http://www.w3.org/2005/Atom",
    "xmlns:content": "http://purl.org/rss/1.0/modules/content/",
    "xmlns:dc": "http://purl.org/dc/elements/1.1/",
    "xmlns:fh": "http://purl.org/syndication/history/1.0",
    "xmlns:media": "http://search.yahoo.com/mrss/",
}


def rss_document(feed: FeedInfo, settings: Settings, fragments: Sequence[bytes]) -> bytes:
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
    root = el("rss", None, channel, version="2.0", **RSS_NAMESPACES)
    return serialize(root, fragments, hex_refs=True)


def atom_document(feed: FeedInfo, settings: Settings, fragments: Sequence[bytes]) -> bytes:
    root = el(
        "feed",
        None,
        el("id", subscription_url(settings, feed, "atom")),
        el("title", feed.title, type="text"),
        el("subtitle", settings.description, type="text") if settings.description else None,
        el("updated", rfc3339(feed.updated)),
        el("link", rel="alternate", type="text/html", href=settings.home),
        el("link", rel="self", type=MEDIA_TYPES["atom"], href=feed_url(settings, feed, "atom")),
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
    return serialize(root, fragments)


def author(person: Author) -> Element:
    """The same element in the feed's head and in its entries."""
    return el(
        "author",
        None,
        el("name", person.name),
        el("uri", person.url) if person.url else None,
        el("email", person.email) if person.email else None,
    )


def json_document(feed: FeedInfo, settings: Settings, fragments: Sequence[bytes]) -> bytes:
    """The feed's object through the standard ``json.dumps``, its items spliced in."""
    document: dict[str, Any] = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": feed.title,
        "home_page_url": settings.home,
        "feed_url": feed_url(settings, feed, "json"),
    }
    if feed.paging.prev:
        document["next_url"] = page_url(settings, feed.paging.current, feed.paging.prev, "json")
    if settings.description:
        document["description"] = settings.description
    document["language"] = settings.language
    owner = {"name": settings.owner.name}
    if settings.owner.url:
        owner["url"] = settings.owner.url
    document["authors"] = [owner]
    if hubs(settings, feed):
        document["hubs"] = [{"type": "WebSub", "url": hub} for hub in hubs(settings, feed)]
    document["items"] = []
    text = (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    if not fragments:
        return text
    assert text.endswith(b' "items": []\n}\n')
    head = text[: -len(b"[]\n}\n")]
    return head + b"[\n" + b",\n".join(fragments) + b"\n  ]\n}\n"


def rss_item(entry: Entry, html: str) -> bytes:
    lead = entry.images[0] if entry.images else None
    node = el(
        "item",
        None,
        el("title", entry.title),
        el("link", Url(entry.url)),
        *(
            el("atom:link", rel="related", type="text/html", href=link.url, title=link.title)
            for link in entry.related
        ),
        el(
            "description",
            escape(entry.summary, quote=False) if entry.summary else html,
        ),
        el("content:encoded", CData(html)) if entry.summary and html else None,
        el("dc:creator", entry.author.name) if entry.author else None,
        *(el("category", name) for name in entry.categories),
        el("guid", Url(entry.id), isPermaLink="false"),
        el("pubDate", rfc822(entry.published)),
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
        thumbnail(lead) if lead else None,
    )
    return at_depth(node, 2, hex_refs=True)


def atom_entry(entry: Entry, html: str) -> bytes:
    node = el(
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
        # The document's own tree for its author: an entry's must be the same element.
        author(entry.author) if entry.author else None,
        *(el("category", term=name) for name in entry.categories),
        el("summary", entry.summary, type="text") if entry.summary else None,
        el("content", CData(html), type="html"),
        thumbnail(entry.images[0]) if entry.images else None,
    )
    return at_depth(node, 1)


def thumbnail(lead: Image) -> Element:
    return el("media:thumbnail", url=lead.url, width=lead.width, height=lead.height)


def json_item(entry: Entry, html: str) -> bytes:
    """The item as the standard library writes it, two levels down in the feed's ``items``."""
    text = json.dumps(json_fields(entry, html), ensure_ascii=False, indent=2)
    return "\n".join("    " + line for line in text.split("\n")).encode("utf-8")


def json_fields(entry: Entry, html: str) -> dict[str, Any]:
    fields: dict[str, Any] = {"id": entry.id, "url": entry.url, "title": entry.title}
    if entry.summary:
        fields["summary"] = entry.summary
    fields["content_html"] = html
    fields["content_text"] = entry.summary or entry.title
    if entry.images:
        fields["image"] = entry.images[0].url
    fields["date_published"] = rfc3339(entry.published)
    if entry.author:
        person = {"name": entry.author.name}
        if entry.author.url:
            person["url"] = entry.author.url
        fields["authors"] = [person]
    if entry.categories:
        fields["tags"] = list(entry.categories)
    if entry.images:
        fields["attachments"] = [
            {
                "url": image.url,
                "mime_type": image.media_type,
                **({"title": image.title} if image.title else {}),
            }
            for image in entry.images
        ]
    if entry.related:
        fields["_related"] = {"items": [json_related(link) for link in entry.related]}
    return fields


def json_related(link: Related) -> dict[str, str]:
    fields = {"url": link.url, "title": link.title}
    if link.provider:
        fields["provider"] = link.provider
    if link.published is not None:
        fields["date_published"] = rfc3339(link.published)
    return fields


def entry_html(entry: Entry) -> str:
    title, url, summary, related = entry.title, entry.url, entry.summary, entry.related
    lead = entry.images[0] if entry.images else None
    parts: list[str] = []
    if lead is not None:
        size = "".join(
            f' {name}="{value}"'
            for name, value in (("width", lead.width), ("height", lead.height))
            if value
        )
        parts.append(f'<p><img src="{escape(lead.url)}" alt="{escape(lead.title)}"{size}></p>')
    parts.extend(f"<p>{escape(p, quote=False)}</p>" for p in (summary, *entry.paragraphs) if p)
    if related:
        parts.append("<h3>Related</h3>")
        parts.append("<ul>")
        parts.extend(f"<li>{html_related(r)}</li>" for r in related)
        parts.append("</ul>")
    if not parts:
        parts.append(f'<p><a href="{escape(url)}">{escape(title, quote=False)}</a></p>')
    return "\n".join(parts)


def html_related(link: Related) -> str:
    about = [link.provider] if link.provider else []
    if link.published is not None:
        about.append(link.published.date().isoformat())
    note = f" ({escape(', '.join(about), quote=False)})" if about else ""
    return f'<a href="{escape(link.url)}">{escape(link.title, quote=False)}</a>{note}'
