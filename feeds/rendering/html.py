"""What the HTML pages (the index and each feed's page) share: the head, the style, the icon,
the autodiscovery links and how an entry's date and provider read.

Plain HTML with inline CSS: a page needs no other file, no script and no XSLT, so it reads the
same from file://, from any static host and with scripts off. Every piece of text and every
attribute goes through :func:`escape` (quotes too): records are hostile input.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape as _escape
from urllib.parse import quote

from feeds.dates import rfc3339
from feeds.groupings import GROUPINGS
from feeds.layout import MEDIA_TYPES, feed_url
from feeds.model import Entry, FeedInfo
from feeds.settings import Settings

LABELS = {"rss": "RSS", "atom": "Atom", "json": "JSON Feed"}
WHAT_A_FEED_IS = (
    "A feed is a list of a site's newest entries that a feed reader checks for you, so new"
    " entries come to you without a visit."
)
_ICON = (
    "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'>"
    "<rect width='16' height='16' rx='3' fill='#e8710a'/>"
    "<circle cx='4.5' cy='11.5' r='1.6' fill='#fff'/>"
    "<path d='M3 7a6 6 0 0 1 6 6M3 3a10 10 0 0 1 10 10' stroke='#fff' stroke-width='2'"
    " fill='none'/></svg>"
)
_LABELS = {grouping.name: grouping.label for grouping in GROUPINGS}
# In the page itself, so the icon costs no request and works from file:// too.
_ICON_URL = "data:image/svg+xml," + quote(_ICON, safe="='/:.")
ICON_LINK = f'<link rel="icon" href="{_ICON_URL}">'
STYLE = """\
:root { color-scheme: light dark; --fg: #1b1b1b; --bg: #fff; --muted: #5c6066; --line: #dcdfe3;
        --link: #0645ad; --box: #f3f5f7; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e8e8e8; --bg: #161616; --muted: #a3a8ae; --line: #34383c; --link: #8ab4f8;
          --box: #212427; }
}
* { box-sizing: border-box; }
body { font: 16px/1.5 system-ui, sans-serif; max-width: 48rem; margin: 0 auto; padding: 1rem;
       color: var(--fg); background: var(--bg); overflow-wrap: anywhere; }
a { color: var(--link); }
h3 a, ol.headlines a, a.name { text-decoration: none; }
h3 a:hover, ol.headlines a:hover, a.name:hover { text-decoration: underline; }
body.wide { max-width: 64rem; }
h1 { font-size: 1.7rem; line-height: 1.2; margin: 0.5rem 0; }
h2 { font-size: 1.25rem; margin: 1.75rem 0 0.5rem; }
h3 { font-size: 1.05rem; line-height: 1.3; margin: 0 0 0.2rem; }
p { margin: 0.4rem 0; }
[hidden] { display: none !important; }
.meta { color: var(--muted); font-size: 0.9rem; }
.box { background: var(--box); border-radius: 8px; padding: 0.75rem 1rem; margin: 1rem 0; }
.box h2 { margin-top: 0.25rem; }
ul.plain, ol.plain { list-style: none; padding: 0; margin: 0; }
ul.formats li { margin: 0.6rem 0; }
ul.formats a { font-weight: 600; }
code.address { display: block; user-select: all; margin-top: 0.15rem; padding: 0.3rem 0.5rem;
               border: 1px solid var(--line); border-radius: 4px; background: var(--bg);
               font-size: 0.85rem; }
li.entry { display: flow-root; padding: 0.9rem 0; border-top: 1px solid var(--line); }
li.entry img { float: right; width: 7rem; max-width: 35%; height: auto;
               margin: 0.2rem 0 0.4rem 0.8rem; border-radius: 4px; background: var(--box); }
ul.related { font-size: 0.9rem; margin: 0.4rem 0 0; padding-left: 1.2rem; }
ol.headlines li, ul.feeds li { padding: 0.45rem 0; border-top: 1px solid var(--line); }
ol.headlines .meta, ul.feeds .meta { display: block; }
time { white-space: nowrap; }
ul.feeds { display: grid; column-gap: 2rem;
           grid-template-columns: repeat(auto-fill, minmax(min(18rem, 100%), 1fr)); }
a.name { font-weight: 600; }
a.subscribe { display: inline-block; padding: 0 0.5rem; border: 1px solid var(--link);
              border-radius: 4px; text-decoration: none; white-space: nowrap; font-size: 0.9rem; }
input[type=search] { font: inherit; width: 100%; padding: 0.4rem 0.6rem;
                     border: 1px solid var(--muted); border-radius: 6px; color: var(--fg);
                     background: var(--bg); }
footer { margin-top: 2rem; }"""


def escape(text: str) -> str:
    """Text or an attribute's value as HTML: ``& < > " '`` written as references."""
    return _escape(text, quote=True)


def head(
    title: str, settings: Settings, links: Iterable[str] = (), body: str = "<body>"
) -> list[str]:
    """The page's lines up to and including ``body``, its opening tag."""
    return [
        "<!DOCTYPE html>",
        f'<html lang="{escape(settings.language)}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>",
        ICON_LINK,
        *links,
        f"<style>\n{STYLE}\n</style>",
        "</head>",
        body,
    ]


def alternates(feed: FeedInfo, settings: Settings) -> list[str]:
    """The autodiscovery links of ``feed``: one per format, for browsers and readers that look."""
    title = escape(feed.title)
    return [
        f'<link rel="alternate" type="{MEDIA_TYPES[fmt]}" title="{title} ({LABELS[fmt]})"'
        f' href="{escape(feed_url(settings, feed, fmt))}">'
        for fmt in settings.formats
    ]


def byline(entry: Entry) -> str:
    """``Northwind Tribune · <time ...>2025-01-14</time>``: who published the entry, and when."""
    moment = rfc3339(entry.published)
    when = f'<time datetime="{moment}">{moment[:10]}</time>'
    return f"{escape(entry.author.name)} · {when}" if entry.author else when


def feed_name(feed: FeedInfo) -> str:
    """What a page calls ``feed``: its name, or its grouping's label (the feed of every entry
    has no name)."""
    return feed.name or _LABELS[feed.grouping]


def count(number: int, noun: str) -> str:
    """``1 entry``, ``2 entries``, ``3 archive pages``."""
    if number == 1:
        return f"1 {noun}"
    return f"{number} {noun[:-1]}ies" if noun.endswith("y") else f"{number} {noun}s"
