"""JSON Feed 1.1, with related links in a ``_related`` extension object."""

from __future__ import annotations

import json
from collections.abc import Sequence
from json.encoder import encode_basestring as _string

from feeds.dates import rfc3339
from feeds.layout import feed_url, hubs, page_url
from feeds.model import Author, Entry, FeedInfo, Image, Related
from feeds.settings import Settings

VERSION = "https://jsonfeed.org/version/1.1"
_VERSION = f'"version": {_string(VERSION)}'


def render(feed: FeedInfo, settings: Settings, fragments: Sequence[bytes]) -> bytes:
    """The feed, with its entries' ``fragments`` (from :func:`item`) in order.

    The result is exactly ``json.dumps(document, indent=2)`` of the whole feed; its fields are
    laid out as :func:`pretty` would, and entries are dumped once each and spliced in.
    """
    fields = [
        _VERSION,
        f'"title": {_string(feed.title)}',
        f'"home_page_url": {_string(settings.home)}',
        f'"feed_url": {_string(feed_url(settings, feed, "json"))}',
    ]
    if feed.paging.prev:
        # JSON Feed pages go back in time with next_url (RFC 5005's prev-archive).
        url = page_url(settings, feed.paging.current, feed.paging.prev, "json")
        fields.append(f'"next_url": {_string(url)}')
    if settings.description:
        fields.append(f'"description": {_string(settings.description)}')
    fields.append(f'"language": {_string(settings.language)}')
    fields.append(f'"authors": {_array([pretty(author(settings.owner), "    ")], "  ")}')
    if hubs(settings, feed):
        fields.append(f'"hubs": {_array([_hub(hub) for hub in hubs(settings, feed)], "  ")}')
    head = ("{\n  " + ",\n  ".join(fields) + ',\n  "items": ').encode("utf-8")
    if not fragments:
        return head + b"[]\n}\n"
    # One join, so each entry is copied once (see feeds.rendering.xml.document).
    parts = [head + b"[\n"]
    for fragment in fragments:
        parts += (fragment, b",\n")
    parts[-1] = b"\n  ]\n}\n"
    return b"".join(parts)


def _hub(url: str) -> str:
    return _object(['"type": "WebSub"', f'"url": {_string(url)}'], "    ")


def pretty(value: object, indent: str = "") -> str:
    """Exactly ``json.dumps(value, ensure_ascii=False, indent=2)``, several times faster.

    The standard library falls back to its pure-Python encoder whenever ``indent`` is set;
    here only the layout is Python and every string goes through the C encoder.
    """
    if isinstance(value, str):
        return _string(value)
    inner = indent + "  "
    if isinstance(value, dict):
        return _object([f"{_string(k)}: {pretty(v, inner)}" for k, v in value.items()], indent)
    if isinstance(value, list):
        return _array([pretty(v, inner) for v in value], indent)
    return json.dumps(value)


def _object(members: list[str], indent: str) -> str:
    """An object of ``members`` (``"name": value``, each value laid out one level in) that
    starts at ``indent``, as :func:`pretty` writes it."""
    if not members:
        return "{}"
    inner = indent + "  "
    return "{\n" + inner + f",\n{inner}".join(members) + f"\n{indent}}}"


def _array(values: list[str], indent: str) -> str:
    """:func:`_object` for an array."""
    if not values:
        return "[]"
    inner = indent + "  "
    return "[\n" + inner + f",\n{inner}".join(values) + f"\n{indent}]"


def author(person: Author) -> dict[str, str]:
    fields = {"name": person.name}
    if person.url:
        fields["url"] = person.url
    return fields


# Items sit two levels in: in the feed's object, in its "items".
ITEM = "    "
FIELD = ITEM + "  "
NESTED = FIELD + "  "


def item(entry: Entry, html: str) -> bytes:
    """The entry as one of :func:`render`'s items, laid out as :func:`pretty` would."""
    fields = [
        f'"id": {_string(entry.id)}',
        f'"url": {_string(entry.url)}',
        f'"title": {_string(entry.title)}',
    ]
    if entry.summary:
        fields.append(f'"summary": {_string(entry.summary)}')
    fields.append(f'"content_html": {_string(html)}')
    fields.append(f'"content_text": {_string(entry.summary or entry.title)}')
    if entry.images:
        fields.append(f'"image": {_string(entry.images[0].url)}')
    fields.append(f'"date_published": {_string(rfc3339(entry.published))}')
    if entry.author:
        fields.append(f'"authors": {_array([pretty(author(entry.author), NESTED)], FIELD)}')
    if entry.categories:
        fields.append(f'"tags": {_array([_string(name) for name in entry.categories], FIELD)}')
    if entry.images:
        attachments = [_attachment(image) for image in entry.images]
        fields.append(f'"attachments": {_array(attachments, FIELD)}')
    if entry.related:
        links = _array([_related(link) for link in entry.related], NESTED)
        extension = _object([f'"items": {links}'], FIELD)
        fields.append(f'"_related": {extension}')
    return (ITEM + _object(fields, ITEM)).encode("utf-8")


def _attachment(image: Image) -> str:
    fields = [f'"url": {_string(image.url)}', f'"mime_type": {_string(image.media_type)}']
    if image.title:
        fields.append(f'"title": {_string(image.title)}')
    return _object(fields, NESTED)


def _related(link: Related) -> str:
    fields = [f'"url": {_string(link.url)}', f'"title": {_string(link.title)}']
    if link.provider:
        fields.append(f'"provider": {_string(link.provider)}')
    if link.published is not None:
        fields.append(f'"date_published": {_string(rfc3339(link.published))}')
    return _object(fields, NESTED + "  ")
