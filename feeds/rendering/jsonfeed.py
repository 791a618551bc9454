"""JSON Feed 1.1, with related links in a ``_related`` extension object."""

from __future__ import annotations

import json
from typing import Any

from feeds.dates import rfc3339
from feeds.model import Author, Entry, Feed
from feeds.rendering.links import feed_url
from feeds.settings import Settings

VERSION = "https://jsonfeed.org/version/1.1"


def render(feed: Feed, settings: Settings) -> bytes:
    document: dict[str, Any] = {
        "version": VERSION,
        "title": feed.title,
        "home_page_url": settings.home,
        "feed_url": feed_url(settings, feed, "json"),
    }
    if settings.description:
        document["description"] = settings.description
    document["language"] = settings.language
    document["authors"] = [author(settings.owner)]
    document["items"] = [item(entry) for entry in feed.entries]
    return dump(document)


def dump(document: object) -> bytes:
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def author(person: Author) -> dict[str, str]:
    fields = {"name": person.name}
    if person.url:
        fields["url"] = person.url
    return fields


def item(entry: Entry) -> dict[str, Any]:
    fields: dict[str, Any] = {"id": entry.id, "url": entry.url, "title": entry.title}
    if entry.summary:
        fields["summary"] = entry.summary
    fields["content_html"] = entry.content_html
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
