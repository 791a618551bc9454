"""OPML 2.0 listing every feed, so a reader can subscribe to all of them at once."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from feeds.dates import rfc822
from feeds.grouping import EPOCH
from feeds.groupings import GROUPINGS
from feeds.layout import feed_url
from feeds.model import FeedInfo
from feeds.rendering.xml import Element, el, serialize
from feeds.settings import Settings

# OPML's type attribute says "rss" for any feed; readers look at the document itself.
_PREFERENCE = ("rss", "atom", "json")


def render(feeds: Sequence[FeedInfo], settings: Settings, headlines: Sequence[bytes] = ()) -> bytes:
    fmt = next(f for f in _PREFERENCE if f in settings.formats)
    sections: list[Element] = []
    for grouping in GROUPINGS:
        outlines = [_outline(f, settings, fmt) for f in feeds if f.grouping == grouping.name]
        if grouping.name == "all":
            sections.extend(outlines)
        elif outlines:
            sections.append(el("outline", None, *outlines, text=grouping.label))
    return _document(settings.title, feeds, sections, settings)


def render_grouping(name: str) -> Callable[[Sequence[FeedInfo], Settings, Sequence[bytes]], bytes]:
    """The OPML of one grouping's feeds only (``topics.opml``)."""

    def render(
        feeds: Sequence[FeedInfo], settings: Settings, headlines: Sequence[bytes] = ()
    ) -> bytes:
        fmt = next(f for f in _PREFERENCE if f in settings.formats)
        chosen = [f for f in feeds if f.grouping == name]
        label = next(g.label for g in GROUPINGS if g.name == name)
        outlines = [_outline(f, settings, fmt) for f in chosen]
        return _document(f"{settings.title}: {label}", chosen, outlines, settings)

    return render


def _document(
    title: str, feeds: Sequence[FeedInfo], sections: Sequence[Element], settings: Settings
) -> bytes:
    updated = max((f.updated for f in feeds), default=EPOCH)
    head = el(
        "head",
        None,
        el("title", title),
        el("dateModified", rfc822(updated)),
        el("ownerName", settings.owner.name),
        el("ownerEmail", settings.owner.email) if settings.owner.email else None,
        el("docs", "http://opml.org/spec2.opml"),
    )
    body = el("body", None, *sections) if sections else el("body", None, el("outline", text=""))
    return serialize(el("opml", None, head, body, version="2.0"))


def _outline(feed: FeedInfo, settings: Settings, fmt: str) -> Element:
    return el(
        "outline",
        type="rss",
        text=feed.title,
        title=feed.title,
        xmlUrl=feed_url(settings, feed, fmt),
        htmlUrl=settings.home,
        language=settings.language,
    )
