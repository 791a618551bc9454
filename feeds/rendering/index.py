"""``index.html``: a readable page listing every feed, with autodiscovery links."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from feeds.dates import rfc3339
from feeds.groupings import GROUPINGS
from feeds.layout import MEDIA_TYPES, OPML, feed_path, feed_url, grouping_opml
from feeds.model import FeedInfo
from feeds.settings import Settings

LABELS = {"rss": "RSS", "atom": "Atom", "json": "JSON Feed"}
# The format a Subscribe button gives: the one every reader takes, as in the OPML.
_PREFERENCE = ("rss", "atom", "json")
_STYLE = """\
body { font: 16px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       color: #1b1b1b; background: #fff; }
h1 { margin-bottom: 0.25rem; }
table { border-collapse: collapse; width: 100%; margin-bottom: 2rem; }
th, td { text-align: left; padding: 0.35rem 0.6rem; border-bottom: 1px solid #ddd; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
a { color: #0645ad; }
a.subscribe { display: inline-block; padding: 0.1rem 0.6rem; border: 1px solid #0645ad;
              border-radius: 4px; text-decoration: none; white-space: nowrap; }
@media (prefers-color-scheme: dark) {
  body { color: #e8e8e8; background: #161616; } a { color: #8ab4f8; } th, td { border-color: #333; }
  a.subscribe { border-color: #8ab4f8; }
}"""
# Subscribe links open the feed (whose page says how to subscribe); with scripts they copy its
# URL instead: the Clipboard API, else a selected text area and execCommand (plain http pages,
# older browsers), else they stay links.
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


def render(feeds: Sequence[FeedInfo], settings: Settings) -> bytes:
    formats = settings.formats
    title = escape(settings.title)
    head = [
        "<!DOCTYPE html>",
        f'<html lang="{escape(settings.language)}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{title}</title>",
    ]
    for feed in feeds:
        if feed.grouping == "all":
            head.extend(
                f'<link rel="alternate" type="{MEDIA_TYPES[fmt]}" title="{escape(feed.title)}'
                f' ({LABELS[fmt]})" href="{escape(feed_url(settings, feed, fmt))}">'
                for fmt in formats
            )
    head += [f"<style>\n{_STYLE}\n</style>", "</head>", "<body>", f"<h1>{title}</h1>"]
    if settings.description:
        head.append(f"<p>{escape(settings.description)}</p>")
    head.append(
        f'<p>{len(feeds)} feeds. Subscribe to all of them at once with <a href="{OPML}">'
        f"{OPML}</a> (OPML).</p>"
    )
    body: list[str] = []
    for grouping in GROUPINGS:
        rows = [_row(f, settings) for f in feeds if f.grouping == grouping.name]
        if not rows:
            continue
        body += [
            f'<section id="{escape(grouping.name)}">',
            f"<h2>{escape(grouping.label)}</h2>",
        ]
        if grouping.folder:
            opml = grouping_opml(grouping.folder)
            body.append(
                f'<p>Subscribe to every feed of this section with <a class="opml" href="{opml}">'
                f"{opml}</a> (OPML).</p>"
            )
        body += [
            "<table>",
            '<thead><tr><th scope="col">Feed</th><th scope="col">Entries</th>'
            '<th scope="col">Updated (UTC)</th><th scope="col">Formats</th>'
            '<th scope="col">Subscribe</th></tr></thead>',
            "<tbody>",
            *rows,
            "</tbody>",
            "</table>",
            "</section>",
        ]
    tail = [f"<script>\n{SUBSCRIBE_SCRIPT}\n</script>", "</body>", "</html>", ""]
    return "\n".join(head + body + tail).encode("utf-8")


def _row(feed: FeedInfo, settings: Settings) -> str:
    formats = settings.formats
    name = escape(feed.name or feed.title)
    count = str(feed.size)
    if feed.total > feed.size:
        count += f" of {feed.total}"
    updated = rfc3339(feed.updated).replace("T", " ").removesuffix("Z") if feed.size else "–"
    links = " · ".join(
        f'<a href="{escape(feed_path(feed, fmt))}" type="{MEDIA_TYPES[fmt]}">{LABELS[fmt]}</a>'
        for fmt in formats
    )
    fmt = next(f for f in _PREFERENCE if f in formats)
    subscribe = (
        f'<a class="subscribe" href="{escape(feed_path(feed, fmt))}"'
        f' data-url="{escape(feed_url(settings, feed, fmt))}">Subscribe</a>'
    )
    return (
        f'<tr><td>{name}</td><td class="n">{count}</td><td>{updated}</td><td>{links}</td>'
        f"<td>{subscribe}</td></tr>"
    )
