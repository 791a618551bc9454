"""Feeds to bytes. One table of formats; with the groupings' table it drives the whole build."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Container, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from feeds.content import entry_html
from feeds.groupings import GROUPINGS
from feeds.layout import (
    EXTENSIONS,
    INDEX,
    MEDIA_TYPES,
    OPML,
    feed_path,
    grouping_opml,
    page_path,
)
from feeds.model import Entry, Feed, FeedInfo
from feeds.rendering import atom, index, jsonfeed, opml, page, rss
from feeds.settings import Settings


@dataclass(frozen=True, slots=True)
class Format:
    name: str
    extension: str
    media_type: str
    render: Callable[[FeedInfo, Settings, Sequence[bytes]], bytes]
    item: Callable[[Entry, str], bytes]


FORMATS = {
    f.name: f
    for f in (
        Format("rss", EXTENSIONS["rss"], MEDIA_TYPES["rss"], rss.render, rss.item),
        Format("atom", EXTENSIONS["atom"], MEDIA_TYPES["atom"], atom.render, atom.item),
        Format("json", EXTENSIONS["json"], MEDIA_TYPES["json"], jsonfeed.render, jsonfeed.item),
    )
}

# An entry's HTML views, rendered with its items in the formats and kept with them: its card on
# its feed's page and its headline on the index. Fragments hold them after the formats' items.
VIEWS: tuple[Callable[[Entry], bytes], ...] = (page.card, page.headline)
CARD, HEADLINE = -2, -1
# The newest entries the index shows.
HEADLINES = 10

SiteDocument = Callable[[Sequence[FeedInfo], Settings, Sequence[bytes]], bytes]
"""A document about the feed set, from the subscription documents and the site's newest
entries (:data:`HEADLINE` views)."""

# Documents about the whole feed set, rendered after the feeds they point to.
SITE_DOCUMENTS: dict[str, SiteDocument] = {
    INDEX: index.render,
    OPML: opml.render,
}


def site_documents(settings: Settings) -> dict[str, SiteDocument]:
    """Every document about the feed set that ``settings`` build: an OPML for each grouping
    with a folder, then :data:`SITE_DOCUMENTS`.

    A grouping's OPML is written even while it has no feeds, so its URL stays valid.
    """
    documents: dict[str, SiteDocument] = {}
    for grouping in GROUPINGS:
        if grouping.folder and grouping.name in settings.groupings:
            documents[grouping_opml(grouping.folder)] = opml.render_grouping(grouping.name)
    return documents | SITE_DOCUMENTS


Plan = TypeVar("Plan", bound=FeedInfo)

# Rendered entries kept for reuse by later documents; a bound, since with archives an entry's
# documents can be far apart in the build order.
FRAGMENT_CACHE = 5000
# What joins entries in every format ("\n" in XML, ",\n" in JSON Feed).
SEPARATOR = 2


Fragments = tuple[bytes, ...]
"""An entry rendered in each of the settings' formats, in ``settings.formats`` order, then in
each of its :data:`VIEWS`."""


def render_entry(entry: Entry, settings: Settings) -> Fragments:
    html = entry_html(entry)
    items = tuple(FORMATS[fmt].item(entry, html) for fmt in settings.formats)
    return items + tuple(view(entry) for view in VIEWS)


def measure(fragments: Fragments) -> int:
    """The bytes an entry adds to a document in the largest of its formats (the byte budget
    is the feed documents'; the HTML views are in no feed document)."""
    return max(len(fragment) for fragment in fragments[: -len(VIEWS)]) + SEPARATOR


def subscriptions(feeds: Sequence[Plan]) -> list[Plan]:
    """The documents readers subscribe to, without the archive pages."""
    return [feed for feed in feeds if not feed.paging.archive]


def render_all(
    feeds: Sequence[Plan],
    settings: Settings,
    load: Callable[[Plan], Feed],
    only: Container[str] | None = None,
    fragments: Callable[[Plan], Sequence[Fragments] | None] | None = None,
) -> Iterator[tuple[str, bytes]]:
    """Every output file and its path in the output folder: each document in every format and,
    for a subscription document, the feed's HTML page; then the index and OPMLs.

    ``fragments`` gives a document's entries already rendered (from the build cache), when it
    can; otherwise ``load`` turns the item of ``feeds`` into a :class:`Feed` with its entries,
    which are rendered here. ``only`` limits the feeds rendered to those paths (the index and
    OPML are always rendered). Each entry is rendered once per format and the fragment reused in
    every later document that holds it, while a bounded cache keeps it.
    """
    chosen = [f for f in feeds if only is None or f.path in only]
    remaining = Counter(article for f in chosen for article in f.ids)
    cache: dict[str, Fragments] = {}
    formats = [FORMATS[fmt] for fmt in settings.formats]
    for info in chosen:
        parts = fragments(info) if fragments is not None else None
        if parts is None:
            feed = load(info)
            parts = []
            for entry in feed.entries:
                rendered = cache.get(entry.id)
                if rendered is None:
                    rendered = render_entry(entry, settings)
                    if len(cache) < FRAGMENT_CACHE:
                        cache[entry.id] = rendered
                parts.append(rendered)
        for n, fmt in enumerate(formats):
            yield feed_path(info, fmt.name), fmt.render(info, settings, [p[n] for p in parts])
        if not info.paging.archive:
            yield page_path(info), page.render(info, settings, [p[CARD] for p in parts])
        for article in info.ids:
            remaining[article] -= 1
            if not remaining[article]:
                cache.pop(article, None)
    listed = subscriptions(feeds)
    headlines = newest(listed, settings, load, fragments)
    for path, render in site_documents(settings).items():
        yield path, render(listed, settings, headlines)


def newest(
    feeds: Sequence[Plan],
    settings: Settings,
    load: Callable[[Plan], Feed],
    fragments: Callable[[Plan], Sequence[Fragments] | None] | None,
) -> list[bytes]:
    """The headlines of the site's :data:`HEADLINES` newest entries, from the feed of every
    entry (none when that feed is not built)."""
    front = next((feed for feed in feeds if feed.grouping == "all"), None)
    if front is None:
        return []
    parts = fragments(front) if fragments is not None else None
    if parts is None:
        parts = [render_entry(entry, settings) for entry in load(front).entries[:HEADLINES]]
    return [p[HEADLINE] for p in parts[:HEADLINES]]


def render_feeds(feeds: Sequence[Feed], settings: Settings) -> dict[str, bytes]:
    """Every output file of feeds already in memory."""
    return dict(render_all(feeds, settings, lambda feed: feed))
