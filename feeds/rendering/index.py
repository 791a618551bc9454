"""``index.html``: the site's front page. What a feed is and how to subscribe, the newest
entries, then every feed by grouping (sorted by name), each linking to its page and documents.

Complete without script and readable 375 px wide. Two small scripts improve it where they run: a
box that filters the feeds by name (hidden without script, for sites of hundreds of feeds) and
Subscribe links that copy the feed's address instead of opening its page.
"""

from __future__ import annotations

from collections.abc import Sequence

from feeds.groupings import GROUPINGS
from feeds.layout import (
    FOLDERS,
    MEDIA_TYPES,
    OPML,
    feed_path,
    feed_url,
    grouping_opml,
    page_path,
)
from feeds.model import FeedInfo
from feeds.rendering.html import (
    LABELS,
    WHAT_A_FEED_IS,
    alternates,
    count,
    escape,
    feed_name,
    head,
)
from feeds.settings import Settings
from feeds.text import fold

# The format a Subscribe button copies: the one every reader takes, as in the OPML.
_PREFERENCE = ("rss", "atom", "json")
FILTER_SCRIPT = """\
const find = document.getElementById("find");
const filter = document.getElementById("filter");
const found = document.getElementById("found");
const rows = Array.from(document.querySelectorAll("ul.feeds > li"),
  (row) => [row, row.querySelector("a.name").textContent.toLowerCase()]);
const sections = document.querySelectorAll("section.feeds");
find.hidden = false;
filter.addEventListener("input", () => {
  const words = filter.value.toLowerCase().split(/\\s+/).filter(Boolean);
  let shown = 0;
  for (const [row, name] of rows) {
    row.hidden = !words.every((word) => name.includes(word));
    shown += row.hidden ? 0 : 1;
  }
  for (const section of sections) {
    section.hidden = !section.querySelector("ul.feeds > li:not([hidden])");
  }
  found.textContent = words.length ? `${shown} of ${rows.length} feeds` : "";
});"""
# Subscribe links open the feed's page (which shows its addresses); with scripts they copy the
# feed's URL instead: the Clipboard API, else a selected text area and execCommand (plain http
# pages, older browsers), else they stay links.
SUBSCRIBE_SCRIPT = """\
function copyByCommand(text) {
  const box = document.createElement("textarea");
  box.value = text;
  box.setAttribute("readonly", "");
  box.style.position = "fixed";
  box.style.opacity = "0";
  document.body.append(box);
  box.select();
  let copied = false;
  try { copied = document.execCommand("copy"); } catch (error) { copied = false; }
  box.remove();
  return copied;
}
async function copy(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try { await navigator.clipboard.writeText(text); return true; } catch (error) { }
  }
  return copyByCommand(text);
}
for (const link of document.querySelectorAll("a.subscribe")) {
  link.addEventListener("click", async (event) => {
    event.preventDefault();
    if (!(await copy(link.dataset.url))) { window.location.href = link.href; return; }
    link.textContent = "Copied";
    setTimeout(() => { link.textContent = "Subscribe"; }, 2000);
  });
}"""


def render(feeds: Sequence[FeedInfo], settings: Settings, headlines: Sequence[bytes] = ()) -> bytes:
    """The index of ``feeds`` (subscription documents), with the ``headlines`` of the site's
    newest entries."""
    front = next((feed for feed in feeds if feed.grouping == "all"), None)
    # Custom feeds in the order the settings give them; the others by name.
    given = {f"{FOLDERS['custom']}/{c.slug}": n for n, c in enumerate(settings.custom_feeds)}
    title = escape(settings.title)
    top = [
        *head(
            settings.title,
            settings,
            alternates(front, settings) if front else (),
            body='<body class="wide">',
        ),
        f"<h1>{title}</h1>",
    ]
    if settings.description:
        top.append(f"<p>{escape(settings.description)}</p>")
    top += [
        '<p class="box" id="about">',
        f"{WHAT_A_FEED_IS} To subscribe, open a feed's page and copy its address into your"
        " feed reader, or press Subscribe to copy it here. To follow all"
        f' {count(len(feeds), "feed")} at once, import <a href="{OPML}">{OPML}</a> (OPML)'
        " into your reader.</p>",
    ]
    latest: list[bytes] = []
    if headlines:
        top += ['<section id="latest">', "<h2>Latest entries</h2>", '<ol class="plain headlines">']
        latest = list(headlines)
        more = f'<p><a href="{page_path(front)}">Every entry</a></p>' if front else ""
        tail = ["</ol>", more, "</section>"]
    else:
        tail = []
    tail += [
        '<div id="find" hidden>',
        '<h2><label for="filter">Find a feed</label></h2>',
        f'<input type="search" id="filter" placeholder="Type part of a name ({len(feeds)} feeds)"'
        ' autocomplete="off">',
        '<p class="meta" id="found" aria-live="polite"></p>',
        "</div>",
    ]
    for grouping in GROUPINGS:
        chosen = [f for f in feeds if f.grouping == grouping.name]
        if not chosen:
            continue
        chosen.sort(key=lambda f: (given.get(f.path, 0), fold(f.name), f.path))
        tail += [
            f'<section id="{escape(grouping.name)}" class="feeds">',
            f"<h2>{escape(grouping.label)}</h2>",
        ]
        if grouping.folder:
            opml = grouping_opml(grouping.folder)
            tail.append(
                f'<p class="meta">All {count(len(chosen), "feed")} of this section for a reader:'
                f' <a class="opml" href="{opml}">{opml}</a> (OPML)</p>'
            )
        tail += ['<ul class="plain feeds">', *(_row(f, settings) for f in chosen), "</ul>"]
        tail.append("</section>")
    tail += [
        f"<script>\n{FILTER_SCRIPT}\n{SUBSCRIBE_SCRIPT}\n</script>",
        "</body>",
        "</html>",
        "",
    ]
    return b"\n".join(["\n".join(top).encode("utf-8"), *latest, "\n".join(tail).encode("utf-8")])


def _row(feed: FeedInfo, settings: Settings) -> str:
    formats = settings.formats
    name = escape(feed_name(feed))
    page = escape(page_path(feed))
    about = count(feed.total, "entry")
    if feed.size:
        about += f" · newest <time>{feed.updated.date().isoformat()}</time>"
    links = " · ".join(
        f'<a href="{escape(feed_path(feed, fmt))}" type="{MEDIA_TYPES[fmt]}">{LABELS[fmt]}</a>'
        for fmt in formats
    )
    fmt = next(f for f in _PREFERENCE if f in formats)
    subscribe = (
        f'<a class="subscribe" href="{page}" data-url="{escape(feed_url(settings, feed, fmt))}">'
        "Subscribe</a>"
    )
    return (
        f'<li><a class="name" href="{page}">{name}</a> <span class="meta">{about}</span>'
        f"{links} {subscribe}</li>"
    )
