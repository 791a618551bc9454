"""Feeds to bytes. One table of formats; with the groupings' table it drives the whole build."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from feeds.content import entry_html
from feeds.model import Entry, Feed
from feeds.rendering import atom, index, jsonfeed, opml, rss
from feeds.rendering.links import EXTENSIONS, INDEX, MEDIA_TYPES, OPML, feed_path
from feeds.settings import Settings


@dataclass(frozen=True, slots=True)
class Format:
    name: str
    extension: str
    media_type: str
    render: Callable[[Feed, Settings, Sequence[bytes]], bytes]
    item: Callable[[Entry, str], bytes]


FORMATS = {
    f.name: f
    for f in (
        Format("rss", EXTENSIONS["rss"], MEDIA_TYPES["rss"], rss.render, rss.item),
        Format("atom", EXTENSIONS["atom"], MEDIA_TYPES["atom"], atom.render, atom.item),
        Format("json", EXTENSIONS["json"], MEDIA_TYPES["json"], jsonfeed.render, jsonfeed.item),
    )
}

# Documents about the whole feed set, rendered after the feeds they point to.
SITE_DOCUMENTS: dict[str, Callable[[Sequence[Feed], Settings], bytes]] = {
    INDEX: index.render,
    OPML: opml.render,
}


def render_all(feeds: Sequence[Feed], settings: Settings) -> Iterator[tuple[str, bytes]]:
    """Every output file and its path in the output folder, feeds first.

    Each entry is rendered once per format and the fragment reused in every feed that holds
    it. Fragments are kept only while a later feed may still need them.
    """
    remaining = Counter(entry.id for feed in feeds for entry in feed.entries)
    cache: dict[str, tuple[bytes, ...]] = {}
    formats = [FORMATS[fmt] for fmt in settings.formats]
    for feed in feeds:
        fragments = []
        for entry in feed.entries:
            rendered = cache.get(entry.id)
            if rendered is None:
                html = entry_html(entry)
                rendered = cache[entry.id] = tuple(f.item(entry, html) for f in formats)
            fragments.append(rendered)
        for n, fmt in enumerate(formats):
            parts = [rendered[n] for rendered in fragments]
            yield feed_path(feed, fmt.name), fmt.render(feed, settings, parts)
        for entry in feed.entries:
            remaining[entry.id] -= 1
            if not remaining[entry.id]:
                del cache[entry.id]
    for path, render in SITE_DOCUMENTS.items():
        yield path, render(feeds, settings)
