"""JSON Feed 1.1, with related links in a ``_related`` extension object."""

from __future__ import annotations

import json
from collections.abc import Sequence
from json.encoder import encode_basestring as _string
from typing import Any

from feeds.dates import rfc3339
from feeds.layout import feed_url, hubs, page_url
from feeds.model import Author, Entry, FeedInfo
from feeds.settings import Settings

VERSION = "https://jsonfeed.org/version/1.1"


def render(feed: FeedInfo, settings: Settings, fragments: Sequence[bytes]) -> bytes:
    """The feed, with its entries' ``fragments`` (from :func:`item`) in order.

    The result is exactly ``json.dumps(document, indent=2)`` of the whole feed; entries are
    dumped once each and spliced in.
    """
    document: dict[str, Any] = {
        "version": VERSION,
        "title": feed.title,
        "home_page_url": settings.home,
        "feed_url": feed_url(settings, feed, "json"),
    }
    if feed.paging.prev:
        # JSON Feed pages go back in time with next_url (RFC 5005's prev-archive).
        document["next_url"] = page_url(settings, feed.paging.current, feed.paging.prev, "json")
    if settings.description:
        document["description"] = settings.description
    document["language"] = settings.language
    document["authors"] = [author(settings.owner)]
    if hubs(settings, feed):
        document["hubs"] = [{"type": "WebSub", "url": hub} for hub in hubs(settings, feed)]
    document["items"] = []
    text = dump(document)
    if not fragments:
        return text
    assert text.endswith(b' "items": []\n}\n')
    head = text[: -len(b"[]\n}\n")]
    return head + b"[\n" + b",\n".join(fragments) + b"\n  ]\n}\n"


def dump(document: object) -> bytes:
    return (pretty(document) + "\n").encode("utf-8")


def pretty(value: object, indent: str = "") -> str:
    """Exactly ``json.dumps(value, ensure_ascii=False, indent=2)``, several times faster.

    The standard library falls back to its pure-Python encoder whenever ``indent`` is set;
    here only the layout is Python and every string goes through the C encoder.
    """
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, dict):
        if not value:
            return "{}"
        inner = indent + "  "
        items = ",\n".join(f"{inner}{_string(k)}: {pretty(v, inner)}" for k, v in value.items())
        return f"{{\n{items}\n{indent}}}"
    if isinstance(value, list):
        if not value:
            return "[]"
        inner = indent + "  "
        items = ",\n".join(inner + pretty(v, inner) for v in value)
        return f"[\n{items}\n{indent}]"
    return json.dumps(value)


def author(person: Author) -> dict[str, str]:
    fields = {"name": person.name}
    if person.url:
        fields["url"] = person.url
    return fields


def item(entry: Entry, html: str) -> bytes:
    text = pretty(_item(entry, html))
    return "\n".join("    " + line for line in text.split("\n")).encode("utf-8")


def _item(entry: Entry, html: str) -> dict[str, Any]:
    fields: dict[str, Any] = {"id": entry.id, "url": entry.url, "title": entry.title}
    if entry.summary:
        fields["summary"] = entry.summary
    fields["content_html"] = html
    fields["content_text"] = entry.summary or entry.title
    if entry.images:
        fields["image"] = entry.images[0].url
    fields["date_published"] = rfc3339(entry.published)
    if entry.author:
        fields["authors"] = [author(entry.author)]
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
        fields["_related"] = {"items": [related(link) for link in entry.related]}
    return fields


def related(link: Any) -> dict[str, str]:
    fields = {"url": link.url, "title": link.title}
    if link.provider:
        fields["provider"] = link.provider
    if link.published is not None:
        fields["date_published"] = rfc3339(link.published)
    return fields
