"""The reference for the entry renderers: each format's item and the entry's HTML as they were
written before the string templates: trees of ``feeds.rendering.xml.el`` written by the
serializer and escapes of that time, frozen here (JSON Feed's item: a dict through the standard
``json.dumps``).

Kept in the test tree only, for ``test_item_templates``: the product writes an entry one way.
Nothing here calls the product's escaping or serializer, so a slip in those (a fast path that
misses a character) shows as a difference instead of being made on both sides.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from html import escape
from typing import Any

from feeds.dates import rfc822, rfc3339
from feeds.model import Entry, Image, Related
from feeds.rendering.atom import author
from feeds.rendering.xml import CData, Element, Url, el

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


def write(node: Element, depth: int, out: list[str], escape: Callable[[str], str]) -> None:
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
