"""A feed's HTML page (``topics/ai.html``, beside ``topics/ai.rss``): what the feed is, the
address to copy and a link for each format, its recent entries and where its older ones are.

The human view of a feed in any browser, with no script and no XSLT. Entries arrive as cards
rendered once per entry (:func:`card`, beside the feed formats' items), so a page costs what
joining them costs. A feed's archive pages get no HTML page of their own: a large site has
thousands, and the feed's page links to them instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from feeds.dates import rfc3339
from feeds.groupings import GROUPINGS
from feeds.layout import (
    EXTENSIONS,
    INDEX,
    MEDIA_TYPES,
    OPML,
    archive_path,
    feed_path,
    feed_url,
    page_path,
    relative,
)
from feeds.model import Entry, FeedInfo, Related
from feeds.rendering.html import (
    LABELS,
    WHAT_A_FEED_IS,
    alternates,
    byline,
    count,
    escape,
    feed_name,
    head,
)
from feeds.settings import Settings

_ABOUT = {grouping.name: grouping.about for grouping in GROUPINGS}


def card(entry: Entry) -> bytes:
    """The entry on its feed's page: title linked to the article, provider and date, the lead
    image as a thumbnail, the excerpt and the related links."""
    parts = [
        '<li class="entry">',
        f'<h3><a href="{escape(entry.url)}">{escape(entry.title)}</a></h3>',
        f'<p class="meta">{byline(entry)}</p>',
    ]
    if entry.images:
        lead = entry.images[0]
        # Decorative: the title beside it says what it shows. A zero size is left out.
        size = f' width="{lead.width}"' if lead.width else ""
        size += f' height="{lead.height}"' if lead.height else ""
        parts.append(f'<img src="{escape(lead.url)}" alt=""{size} loading="lazy">')
    if entry.summary:
        parts.append(f"<p>{escape(entry.summary)}</p>")
    if entry.related:
        parts.append('<ul class="related">')
        parts += [_related(link) for link in entry.related]
        parts.append("</ul>")
    parts.append("</li>")
    return "\n".join(parts).encode("utf-8")


def headline(entry: Entry) -> bytes:
    """The entry as one line of the index's newest entries."""
    return (
        f'<li><a href="{escape(entry.url)}">{escape(entry.title)}</a>'
        f' <span class="meta">{byline(entry)}</span></li>'
    ).encode()


def _related(link: Related) -> str:
    about = [escape(link.provider)] if link.provider else []
    if link.published is not None:
        moment = rfc3339(link.published)
        about.append(f'<time datetime="{moment}">{moment[:10]}</time>')
    note = f' <span class="meta">{", ".join(about)}</span>' if about else ""
    return f'<li><a href="{escape(link.url)}">{escape(link.title)}</a>{note}</li>'


def render(feed: FeedInfo, settings: Settings, cards: Sequence[bytes]) -> bytes:
    """The page of ``feed``'s subscription document, with its entries' ``cards`` in order."""
    here = page_path(feed)
    name = escape(feed_name(feed))
    about = _ABOUT[feed.grouping].format(name=name)
    summary = f"This feed holds {about}, newest first: {count(feed.total, 'entry')}"
    if feed.size:
        summary += f", the newest on <time>{feed.updated.date().isoformat()}</time>"
    top = [
        *head(feed.title, settings, alternates(feed, settings)),
        f'<nav class="meta"><a href="{relative(here, INDEX)}">← Every feed of'
        f" {escape(settings.title)}</a></nav>",
        f"<h1>{name}</h1>",
        f"<p>{summary}.</p>",
        '<section class="box" id="subscribe">',
        "<h2>Subscribe</h2>",
        f"<p>{WHAT_A_FEED_IS} To subscribe, copy an address into your feed reader, or open a"
        " link with it:</p>",
        '<ul class="plain formats">',
        *(
            f'<li><a href="{escape(relative(here, feed_path(feed, fmt)))}"'
            f' type="{MEDIA_TYPES[fmt]}">{LABELS[fmt]}</a>'
            f'<code class="address">{escape(feed_url(settings, feed, fmt))}</code></li>'
            for fmt in settings.formats
        ),
        "</ul>",
        "</section>",
        '<section id="entries">',
        "<h2>Recent entries</h2>",
    ]
    if cards:
        middle = [b'<ol class="plain entries">', *cards, b"</ol>"]
    else:
        middle = [b"<p>No entries yet.</p>"]
    bottom = [
        "</section>",
        *_older(feed, settings, here),
        f'<footer class="meta"><a href="{relative(here, INDEX)}">Every feed of'
        f' {escape(settings.title)}</a> · all of them for a reader: <a href="'
        f'{relative(here, OPML)}">{OPML}</a> (OPML)</footer>',
        "</body>",
        "</html>",
        "",
    ]
    # One join, so each card is copied once.
    return b"\n".join(
        [
            "\n".join(top).encode("utf-8"),
            *middle,
            "\n".join(bottom).encode("utf-8"),
        ]
    )


def _older(feed: FeedInfo, settings: Settings, here: str) -> list[str]:
    """Where the entries older than the page's are: the feed's archive pages, if any."""
    older = feed.total - feed.size
    if older <= 0:
        return []
    entries = f"{count(older, 'older entry')} {'is' if older == 1 else 'are'}"
    pages = feed.paging.prev
    lines = ['<section id="older">', "<h2>Older entries</h2>"]
    if not pages:
        lines.append(f"<p>{entries} no longer in this feed.</p>")
        return [*lines, "</section>"]

    def links(number: int) -> str:
        target = archive_path(feed.path, number)
        return " · ".join(
            f'<a href="{escape(relative(here, target + EXTENSIONS[fmt]))}"'
            f' type="{MEDIA_TYPES[fmt]}">{LABELS[fmt]}</a>'
            for fmt in settings.formats
        )

    lines.append(
        f"<p>{entries} in {count(pages, 'archive page')}, feed documents"
        " (RFC 5005) that feed readers and archivers walk back from the newest, each linking"
        " to the one before it.</p>"
    )
    lines.append('<ul class="plain">')
    lines.append(f"<li>The newest archive page (page {pages}): {links(pages)}</li>")
    if pages > 1:
        lines.append(f"<li>The oldest (page 1): {links(1)}</li>")
    lines.append("</ul>")
    return [*lines, "</section>"]
