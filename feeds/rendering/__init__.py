"""Feeds to bytes. One table of formats; with the groupings' table it drives the whole build."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from feeds.model import Feed
from feeds.rendering import atom, index, jsonfeed, opml, rss
from feeds.rendering.links import EXTENSIONS, INDEX, MEDIA_TYPES, OPML, feed_path
from feeds.settings import Settings


@dataclass(frozen=True, slots=True)
class Format:
    name: str
    extension: str
    media_type: str
    render: Callable[[Feed, Settings], bytes]


FORMATS = {
    f.name: f
    for f in (
        Format("rss", EXTENSIONS["rss"], MEDIA_TYPES["rss"], rss.render),
        Format("atom", EXTENSIONS["atom"], MEDIA_TYPES["atom"], atom.render),
        Format("json", EXTENSIONS["json"], MEDIA_TYPES["json"], jsonfeed.render),
    )
}

# Documents about the whole feed set, rendered after the feeds they point to.
SITE_DOCUMENTS: dict[str, Callable[[Sequence[Feed], Settings], bytes]] = {
    INDEX: index.render,
    OPML: opml.render,
}


def render_all(feeds: Sequence[Feed], settings: Settings) -> dict[str, bytes]:
    """Every output file by its path in the output folder."""
    files = {
        feed_path(feed, fmt): FORMATS[fmt].render(feed, settings)
        for feed in feeds
        for fmt in settings.formats
    }
    for path, render in SITE_DOCUMENTS.items():
        files[path] = render(feeds, settings)
    return files
